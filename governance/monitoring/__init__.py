"""Monitoring after deployment: signals about model versions, each project's plan, and the findings they open.

services.py     signals_record (every source), the plan's writes, signals_check_stale (beat)
evidently.py    Evidently 0.7 report JSON → signals (pure)
quality.py      OpenLineage data-quality facets → signals (the lineage applier's hook)
selectors.py    what pages and the API read; charts.py the signal-over-time figures
"""
