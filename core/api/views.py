"""API views shared by every app."""

from __future__ import annotations

from rest_framework.exceptions import MethodNotAllowed
from rest_framework.views import APIView


class PostOnlyAPIView(APIView):
    """An endpoint that only takes POSTs (an ingest or webhook). DRF checks permissions before it looks for
    the method's handler, so a GET answered 403 (or 401); the wrong method is the first thing wrong with it,
    whoever asks: 405 with `Allow: POST`."""

    http_method_names = ["post"]

    def initial(self, request, *args, **kwargs):
        if request.method.lower() not in self.http_method_names:
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)
