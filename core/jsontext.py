"""json.dumps(value) with its default options, the C encoder built once instead of per call.

json.dumps builds a new encoder object every call; a registry sync writes tens of thousands of JSON
values (each version's columns, each audit event's before and after), where that was a tenth of the
store's time. The text is json.dumps' own, byte for byte. No circular-reference check: a value with a
cycle raises RecursionError instead of ValueError (JSON written from parsed or built data has none).
"""

from __future__ import annotations

import json

if json.encoder.c_make_encoder is not None:
    _encode = json.encoder.c_make_encoder(
        None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
    )

    def dumps(value) -> str:
        """json.dumps(value)."""
        return "".join(_encode(value, 0))
else:  # pragma: no cover - a Python without the _json accelerator
    dumps = json.dumps
