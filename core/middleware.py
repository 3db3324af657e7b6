from __future__ import annotations

import contextlib
import re
import uuid

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware

from . import context

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Gives every request an id (kept from X-Request-ID when it is well-formed) for audit and logs, and makes
    the request the audit context (core.context.current_actor)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_context(request) as rid:
            response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response


@contextlib.contextmanager
def request_context(request):
    """The request's id (set on it, and yielded) and the audit context, for the time it is served: what
    RequestContextMiddleware gives every request, and the lineage ingest's lean path its own."""
    incoming = request.headers.get("X-Request-ID", "")
    rid = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request.request_id = rid
    token = context.request_id.set(rid)
    request_token = context.request.set(request)
    try:
        yield rid
    finally:
        context.request.reset(request_token)
        context.request_id.reset(token)


API_PAGES = ("/api/docs/",)


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Deny by default: every page needs a login unless marked @login_not_required.

    The API is left to DRF, whose default permission answers 401/403 instead of a redirect; its docs
    page is for people, who are sent to the login page like on any other page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(API_PAGES):
            # DRF marks its views login-not-required; this one is a page, so a visitor still goes to login.
            return None if request.user.is_authenticated else self.handle_no_permission(request, view_func)
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


REQUEST_TOO_LARGE = "Request body too large: {size} bytes, the limit is {limit} bytes."
LINEAGE_INGEST_PATHS = frozenset({"/api/v1/lineage", "/api/v1/lineage/"})


class RequestSizeLimitMiddleware:
    """Refuses an oversize body from its Content-Length, before anything reads it.

    Django guards `request.body` and form parsing, but DRF reads the raw stream; this covers both.
    Multipart uploads have their own, larger cap (KEEL_MAX_UPLOAD_BYTES), and so has OpenLineage ingest
    (KEEL_LINEAGE_MAX_BODY_BYTES).
    The answer is 400, as Django gives for its own RequestDataTooBig: bad input, like any other.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.http import JsonResponse
        from django.shortcuts import render

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request.path_info in LINEAGE_INGEST_PATHS:
            # OpenLineage events with a Spark logical plan run to megabytes: ingest has its own limit
            # and reads the stream itself under it (and under it again once un-gzipped).
            limit = settings.KEEL_LINEAGE_MAX_BODY_BYTES
        elif request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            # File uploads stream to disk; each upload form checks its own file limit (ROI imports,
            # compliance evidence) below this overall cap.
            limit = settings.KEEL_MAX_UPLOAD_BYTES
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        if limit is not None and size > limit:
            message = REQUEST_TOO_LARGE.format(size=size, limit=limit)
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": message, "code": "request_too_large"}, status=400)
            return render(request, "400.html", {"message": message}, status=400)
        return self.get_response(request)
