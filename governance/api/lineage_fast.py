"""The lean path of POST /api/v1/lineage for API tokens: what a producer's burst of events takes.

A pipeline posts thousands of events a minute with `Authorization: Bearer <key>`. Through Django's whole
middleware stack and DRF's request/response machinery (content negotiation, the Request wrapper, the
permission classes, the Response's rendering) each POST cost about as much CPU as the ingest itself. This
middleware, placed right after SecurityMiddleware and RequestSizeLimitMiddleware, answers exactly those
POSTs with the same work LineageView does (governance/api/lineage.py: `ingest`, `refusal_body`, the
project's API exception handler) and the same answer, headers included:

- the same authentication classes (Token, then Bearer), the same role rule (LineageView.write_roles), the
  same namespace scopes, body limits, validation, dedupe and the one durable insert;
- the same body bytes (DRF's JSONRenderer) and headers: `Allow` as DRF sets it, the request id and audit
  context of RequestContextMiddleware, CSP and X-Frame-Options from their own middleware, and whatever
  the middleware around this one (SecurityMiddleware's headers) adds.

Anything else goes down the normal stack untouched, and so does any token request this path is not sure
of BEFORE it reads the body: no Token/Bearer header (sessions keep CSRF and the rest), a token that fails
(DRF answers its 401), a role that may not post (DRF's 403), an Accept or ?format= asking for something
other than JSON (DRF's 406). Pages, sessions, static files and messages are never involved in such a
request, so nothing is lost by skipping their middleware.
"""

from __future__ import annotations

from csp.constants import HEADER, HEADER_REPORT_ONLY
from django.conf import settings
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from core.api.exceptions import exception_handler
from core.authentication import ApiTokenAuthentication, BearerApiTokenAuthentication
from core.middleware import LINEAGE_INGEST_PATHS, request_context
from core.roles import user_roles

from .lineage import LineageView, ingest, refusal_body

_AUTHENTICATORS = (ApiTokenAuthentication(), BearerApiTokenAuthentication())
_KEYWORDS = (b"token ", b"bearer ")
# Media ranges the API's one renderer (JSON) answers; any other Accept goes to DRF, which refuses it.
_JSON_ACCEPTS = frozenset({"", "*/*", "application/*", "application/json"})
_RENDERER = JSONRenderer()
_CSP_HEADERS = (HEADER, HEADER_REPORT_ONLY)


class LineageIngestMiddleware:
    """POST /api/v1/lineage (and /api/v1/lineage/) with an API token, answered without DRF's machinery."""

    def __init__(self, get_response):
        from csp.middleware import CSPMiddleware

        self.get_response = get_response
        # The response middleware this path skips but whose headers every API answer carries.
        self._csp = CSPMiddleware(get_response)
        self._csp_headers: dict = {}
        self._xframe = XFrameOptionsMiddleware(get_response)
        self._roles = frozenset(LineageView.write_roles)
        self._allow = ", ".join(m.upper() for m in LineageView.http_method_names)

    def __call__(self, request):
        if request.method != "POST" or request.path_info not in LINEAGE_INGEST_PATHS or not self._plain(request):
            return self.get_response(request)
        caller = self._caller(request)
        if caller is None:
            return self.get_response(request)  # DRF answers it, exactly as before
        with request_context(request) as request_id:
            response = self._answer(request, *caller)
            response["X-Request-ID"] = request_id
        self._add_csp(request, response)
        return self._xframe.process_response(request, response)

    def _add_csp(self, request, response) -> None:
        """The CSP headers CSPMiddleware gives this answer. Nothing here renders a page, so no nonce and no
        per-view policy can be in them: they depend on the settings and the path only, and are built once for
        each (building the policy string twice a request cost a tenth of a POST's CPU)."""
        if settings.DEBUG and response.status_code in (404, 500):
            return  # CSPMiddleware leaves Django's debug pages alone
        basis = (
            getattr(settings, "CONTENT_SECURITY_POLICY", None),
            getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None),
            settings.DEBUG,
        )
        cached = self._csp_headers.get(request.path_info)
        if cached is not None and all(a is b for a, b in zip(cached[0], basis, strict=True)):
            headers = cached[1]
        else:  # first time on this path, or the settings were replaced since (tests override them)
            probe = HttpResponse(status=response.status_code)
            self._csp.process_request(request)
            self._csp.process_response(request, probe)
            headers = {name: probe[name] for name in _CSP_HEADERS if name in probe}
            self._csp_headers[request.path_info] = (basis, headers)  # LINEAGE_INGEST_PATHS: two at most
        for name, value in headers.items():
            if name not in response:
                response[name] = value

    @staticmethod
    def _plain(request) -> bool:
        """A token header, JSON wanted, no ?format=: what this path answers as DRF would."""
        if not request.META.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace").lower().startswith(_KEYWORDS):
            return False
        if api_settings.URL_FORMAT_OVERRIDE and api_settings.URL_FORMAT_OVERRIDE in request.GET:
            return False
        accept = request.META.get("HTTP_ACCEPT", "")
        return all(part.split(";", 1)[0].strip().lower() in _JSON_ACCEPTS for part in accept.split(","))

    def _caller(self, request):
        """(user, token) when the token authenticates and its user may post lineage; else None."""
        for authenticator in _AUTHENTICATORS:
            try:
                found = authenticator.authenticate(request)
            except exceptions.AuthenticationFailed:
                return None
            if found is not None:
                user, token = found
                return (user, token) if user_roles(user) & self._roles else None
        return None

    def _answer(self, request, user, token) -> HttpResponse:
        # As DRF does once it has authenticated: the view's caller is the request's user (the audit's
        # actor for anything written through Django's signals meanwhile).
        request.user, request.auth = user, token
        headers: dict[str, str] = {}
        try:
            body, status = ingest(request, user=user, token=token)
        except Exception as exc:
            body = refusal_body(exc)
            status = 400
            if body is None:
                handled = exception_handler(exc, {"view": None, "request": request, "args": (), "kwargs": {}})
                if handled is None:
                    raise
                body, status = handled.data, handled.status_code
                # e.g. DRF's Retry-After; not the Content-Type every unrendered response starts with
                headers = {k: v for k, v in handled.items() if k.lower() != "content-type"}
        response = HttpResponse(_RENDERER.render(body), status=status, content_type="application/json")
        for name, value in headers.items():
            response[name] = value
        response["Allow"] = self._allow
        if len(api_settings.DEFAULT_RENDERER_CLASSES) > 1:
            response["Vary"] = "Accept"  # as DRF's finalize_response, when it negotiates between renderers
        response["Content-Length"] = str(len(response.content))
        return response
