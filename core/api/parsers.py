"""The API's JSON parser: DRF's, with the nesting bound every JSON body Keel reads keeps (core.json_limits)."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from core.json_limits import JSONTooDeep, too_deep


class BoundedJSONParser(JSONParser):
    """Refuses a body nested past json_limits.MAX_DEPTH with a 400 (ParseError) naming the limit, where
    DRF's own parser lets the RecursionError of a deeply nested body through as a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(str(JSONTooDeep())) from None
        if too_deep(data):
            raise ParseError(str(JSONTooDeep()))
        return data
