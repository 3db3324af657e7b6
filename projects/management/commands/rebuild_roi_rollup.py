"""`manage.py rebuild_roi_rollup`: recompute the ROI roll-up (projects/roi/rollup.py) from the ledger, and
the dashboard's group and team roll-ups from it.

The services keep the roll-up right as they write; this is for a ledger written around them (a restore
from backup, a bulk load) and for peace of mind: it prints how many cells differed before the rebuild.
Not audited: the roll-up is derived data, every figure in it is already in the audited ledger, and a
rebuild changes none of those figures.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from projects.roi.rollup import roi_group_rollup_drift, roi_rollup_drift, roi_rollup_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the per-project, per-month ROI roll-up from the ROI ledger, and the per-group and per-team "
        "roll-ups from it (derived data, not audited)."
    )

    def handle(self, *args, **options):
        drift, group_drift = roi_rollup_drift(), roi_group_rollup_drift()
        written = roi_rollup_rebuild()
        self.stdout.write(
            f"ROI roll-up rebuilt: {written} cells written; {drift} differed from the ledger before; "
            f"{group_drift} group and team cells differed from the roll-up."
        )
