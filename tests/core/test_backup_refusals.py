"""`manage.py backup` and `manage.py restore` refuse what would lose or mix data, before touching anything.
(The whole drill, on both databases, is tests/integration/test_backup_restore_drill.py.)"""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core import backup


def test_backup_refuses_a_folder_that_exists(tmp_path):
    (tmp_path / "old").mkdir()
    with pytest.raises(CommandError, match="already exists: give a new folder"):
        call_command("backup", "--output", str(tmp_path / "old"))


@pytest.mark.django_db
def test_restore_refuses_a_folder_that_is_not_a_backup(tmp_path):
    message = backup.NOT_A_BACKUP.format(path=tmp_path, manifest=backup.MANIFEST, format=backup.FORMAT)
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(tmp_path))
    assert str(refused.value) == message


@pytest.mark.django_db
def test_restore_refuses_a_backup_of_the_other_database(tmp_path):
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    (tmp_path / backup.MANIFEST).write_text(json.dumps({"format": backup.FORMAT, "vendor": other}))
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(tmp_path))
    assert str(refused.value) == backup.WRONG_VENDOR.format(backup=other, configured=connection.vendor)


@pytest.mark.django_db
def test_a_backup_records_every_table_and_refuses_to_land_on_live_data(tmp_path):
    """The manifest counts every table of this database; restoring it here (tables exist) is refused."""
    call_command("backup", "--output", str(tmp_path / "b"))
    manifest = backup.read_manifest(tmp_path / "b")
    assert set(manifest["row_counts"]) == set(connection.introspection.table_names())
    assert (tmp_path / "b" / manifest["database"]["file"]).stat().st_size > 0
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o700
    with pytest.raises(CommandError, match="Refusing to restore into a database that already has tables"):
        call_command("restore", str(tmp_path / "b"))
