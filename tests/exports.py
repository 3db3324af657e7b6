"""Reading what an export answered, one way for every test: a streamed CSV as one dict per row."""

from __future__ import annotations

import csv
import io


def csv_dicts(response) -> list[dict]:
    """A streamed CSV answer as one dict per row, keyed by its header line."""
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
