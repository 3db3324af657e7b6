"""Fixtures the tests of core's compiled-SQL cache share (test_compiled_sql.py, test_page_prefetch.py)."""

from __future__ import annotations

import pytest
from django.db.models.sql.compiler import SQLCompiler

from core import queries


@pytest.fixture
def empty_compiled_cache():
    """core.queries' cache of compiled statements, empty before and after the test."""
    queries._COMPILED.clear()
    yield
    queries._COMPILED.clear()


@pytest.fixture
def compiles(monkeypatch):
    """The models of the queries compiled (SQLCompiler.as_sql calls), in order."""
    seen = []
    as_sql = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        seen.append(self.query.model)
        return as_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counted)
    return seen
