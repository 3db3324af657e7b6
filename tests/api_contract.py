"""Checking answers against the live OpenAPI schema (schemathesis), in process, inside a test's transaction.

Shared by the schema fuzz test (tests/core/test_api_contract_fuzz.py) and the regression tests of what it found
(tests/core/test_api_contract_defects.py)."""

from __future__ import annotations

import io
from collections import Counter

import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.services import api_token_create
from governance.compliance import services as compliance_services
from governance.models import Obligation
from tests.factories import User
from tests.registry_factories import demo_registry_versions

# 0 server errors, 0 undeclared status codes, 0 bodies outside their declared schema or content type.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
# The demo personas (manage.py seed_demo), by username.
PERSONAS = ("exec", "risk", "lead", "dpo", "admin")
# Requests the schema fuzz test made, by caller; printed at the end of the session (tests/conftest.py).
REQUESTS: Counter[str] = Counter()


class InTestTransaction(WSGIHandler):
    """Django's WSGI application, minus what would end the test's transaction: like django.test.Client, it keeps
    the database connection open at the end of each request instead of closing it."""

    def __call__(self, environ, start_response):
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            response = super().__call__(environ, start_response)
            # Read the body before close(), which sends request_finished.
            content = b"".join(response)
            response.close()
            return [content]
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)


def token_header(key: str | None, keyword: str = "Token") -> dict[str, str]:
    return {"Authorization": f"{keyword} {key}"} if key else {}


def load_schema(key: str):
    """The schema as /api/schema/ serves it (read with `key`: anonymous callers may not read it)."""
    return schemathesis.openapi.from_wsgi("/api/schema/", InTestTransaction(), headers=token_header(key))


def call_and_check(schema, method: str, path: str, *, key: str | None = None, keyword: str = "Token", **case):
    """One request built from the schema's operation, sent in process, its answer checked against the schema."""
    made = schema[path][method].Case(**case)
    headers = token_header(key, keyword)
    response = made.call(headers=headers)
    made.validate_response(response, checks=CHECKS, headers=headers)
    return response


def seed_demo_with_tokens() -> dict[str, str]:
    """The demo portfolio (`make run`'s, without its MLflow server), an uploaded file as evidence (so one Evidence
    has no link), and an API token per persona allowed every lineage namespace; returns username → key."""
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo_roi", stdout=io.StringIO())
    demo_registry_versions()
    call_command("seed_demo_governance", stdout=io.StringIO())
    dpo = User.objects.get(username="dpo")
    obligation = Obligation.objects.filter(status="unmet").order_by("pk").first()
    upload = SimpleUploadedFile("dpia.pdf", b"%PDF-1.4 the assessment", content_type="application/pdf")
    compliance_services.evidence_add(by=dpo, obligation=obligation, file=upload)
    return {
        username: api_token_create(user=User.objects.get(username=username), lineage_namespaces=["*"])[1]
        for username in PERSONAS
    }
