"""Helpers for CSV/XLSX exports that people open in spreadsheets."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Neutralise spreadsheet formula injection in user-entered text (=, +, -, @ at the start)."""
    return "'" + value if value[:1] in FORMULA_STARTS else value
