"""Who may do what: every persona against every page and API operation, in one table.

The target is always the `project` fixture (team "Claims", led by `team_lead`); `other_lead` leads
another team. Registry rows: one registry holding a model linked to `project` (with two versions
and an alias history), one linked to `other_project`, and one linked to none. A write that the
matrix expects to succeed must leave exactly one audit event, and a refused one none. A URL or API
operation missing from the table fails the coverage tests below.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django.views.generic.edit import ProcessFormView
from drf_spectacular.generators import SchemaGenerator

from governance.models import AuditEvent, Finding, NotificationKind, SignOffPolicy
from governance.risks.services import risk_reviews_mark_overdue
from projects.models import LinkSource
from tests.api_errors import NOT_A_CHOICE, invalid_input
from tests.exports import csv_dicts
from tests.factories import UserFactory
from tests.registry_factories import T0, ModelVersionFactory, RegisteredModelFactory, RegistryFactory, hold
from tests.risk_factories import MitigationFactory, RiskFactory, overdue_risk
from tests.tier_answers import complete

PERSONAS = ("anonymous", "no_role", "executive", "risk_officer", "team_lead", "other_lead", "admin")
USER_FIXTURE = {
    "no_role": "no_role_user",
    "executive": "executive",
    "risk_officer": "risk_officer",
    "team_lead": "team_lead",
    "other_lead": "other_lead",
    "admin": "admin_user",
}
OK, CREATED, ACCEPTED, UNAUTHORIZED, FORBIDDEN, NOT_FOUND = 200, 201, 202, 401, 403, 404
GONE, BAD = 204, 400  # deleted; refused as bad input
SAVED = 302  # a page write that succeeded redirects to the project page
MOVED = 302  # a page read that sends the reader on to where the thing is shown
REFUSED = 200  # the page re-renders the form with an error; nothing is written
LOGIN = "login"  # 302 to /login/?next=<the requested path>
NO_AUTH, DENIED, HIDDEN = UNAUTHORIZED, FORBIDDEN, NOT_FOUND  # short names keep the table readable


def project_form(c):
    return {
        "name": "Claims triage", "purpose": "Routes incoming claims.", "team": c.team.pk, "owner": c.team_lead.pk,
        "stage": "idea", "health": "on_track", "currency": "EUR", "expected_investment": "1000",
        "expected_annual_value": "5000", "horizon_months": "24",
    }  # fmt: skip


def project_edit_form(c):
    data = project_form(c)
    del data["stage"]
    return {**data, "name": "Fraud scoring v2"}


def project_json(c, name="Claims triage"):
    return {"name": name, "purpose": "Routes incoming claims.", "team": c.team.slug, "owner": c.team_lead.username}


# What each write sends: always valid input, so only the permission decides the answer.
def roi_upload(c):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {"file": SimpleUploadedFile("roi.csv", b"month,kind,category,basis,amount\n2026-05,cost,data,actual,7\n")}


ROI_ROW = {"month": "2026-04", "kind": "value", "category": "cost_saving", "basis": "actual", "amount": "100"}

# A minimal OpenLineage RunEvent (each persona posts it into a fresh database, so it is never a duplicate).
LINEAGE_EVENT = {
    "eventType": "COMPLETE", "eventTime": "2026-05-01T10:00:00Z", "producer": "https://example.org/pipeline",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run": {"runId": "0196a1f0-0000-7000-8000-000000000001"}, "job": {"namespace": "etl", "name": "daily"},
    "inputs": [{"namespace": "postgres://db:5432", "name": "crm.customers"}],
    "outputs": [{"namespace": "postgres://db:5432", "name": "mart.customers"}],
}  # fmt: skip

BODIES = {
    # Lineage: ingest an event; link a dataset to the version of the model no project uses (so the link
    # re-evaluates no project's obligations: one audit event).
    ("POST", "/api/v1/lineage"): lambda c: LINEAGE_EVENT,
    ("POST", "/api/v1/lineage/"): lambda c: LINEAGE_EVENT,
    # Monitoring: one value about version 2 of the project's model (no plan item: one audit event); a plan item.
    ("POST", "/api/v1/signals"): lambda c: {
        "registry": "mlflow-prod",
        "model": "fraud-detector",
        "version": "2",
        "signals": [{"name": "psi", "value": 0.1}],
    },
    ("POST", "/governance/projects/{project}/monitoring/"): lambda c: {
        "name": "psi",
        "kind": "drift",
        "upper": "0.2",
        "on_breach": "flag",
    },
    ("POST", "/governance/monitoring/plan/{plan_item}/delete/"): lambda c: {},
    ("POST", "/api/v1/datasets/{dataset}/link-model/"): lambda c: {"model_version": c.unlinked_model.versions.get().pk},
    # PII and compliance (compliance_rows): classify crm.customers.phone (it reaches no model, so no obligation
    # moves); record only an owner (no obligation reads it); evidence for the record rule GDPR-6-BASIS.
    ("POST", "/governance/datasets/{dataset}/classify/"): lambda c: {
        "field": c.compliance.phone.pk,
        "pii_kind": "phone",
    },
    ("POST", "/governance/datasets/{dataset}/compliance/"): lambda c: {"owner": c.team_lead.pk},
    # The DPO's workspace: classify the same column in bulk; register a dataset; import a one-row inventory.
    ("POST", "/governance/pii/bulk/"): lambda c: {
        "fields": [c.compliance.phone.pk],
        "pii_kind": "phone",
        "action": "classify",
    },
    ("POST", "/governance/pii/inventory/register/"): lambda c: {
        "namespace": "postgres://db:5432",
        "name": "crm.orders",
        "columns": "order_id, bigint",
    },
    ("POST", "/governance/pii/inventory/import/"): lambda c: {
        "file": SimpleUploadedFile("inventory.csv", b"namespace,name,field\npostgres://db:5432,crm.leads,email\n"),
    },
    ("POST", "/governance/classifications/{classification}/retract/"): lambda c: {},
    ("POST", "/governance/obligations/{obligation}/evidence/"): lambda c: {
        f"o{c.compliance.obligation.pk}-link": "https://dms.example/legal-basis"
    },
    ("POST", "/api/v1/classifications/"): lambda c: {
        "dataset": c.compliance.phone.dataset_id,
        "field": c.compliance.phone.pk,
        "pii_kind": "phone",
    },
    ("POST", "/api/v1/evidence/"): lambda c: {
        "obligation": c.compliance.obligation.pk,
        "link": "https://dms.example/legal-basis",
    },
    # ROI ledger: the roi_rows entry is an actual compute cost of 2026-03 (EUR); the FX rate is USD 2026-01.
    ("POST", "/projects/{project}/roi/"): lambda c: {
        "month": "2026-04",
        "category": "people",
        "basis": "actual",
        "amount": "10",
    },
    ("POST", "/projects/{project}/roi/import/"): roi_upload,
    ("POST", "/projects/{project}/roi/{roi_entry}/delete/"): lambda c: {},
    ("POST", "/projects/{project}/roi/deleted/{roi_deletion}/restore/"): lambda c: {},
    ("POST", "/api/v1/roi-entries/{deleted_entry}/restore/"): lambda c: {},
    ("POST", "/projects/roi/quick-log/"): lambda c: {
        "project": c.project.pk,
        "month": "2026-06",
        "category": "productivity",
        "amount": "5",
    },
    ("POST", "/api/v1/roi-entries/"): lambda c: {**ROI_ROW, "project": c.project.slug},
    ("PUT", "/api/v1/roi-entries/{roi_entry}/"): lambda c: {
        "month": "2026-03",
        "kind": "cost",
        "category": "compute",
        "basis": "actual",
        "amount": "250",
    },
    ("PATCH", "/api/v1/roi-entries/{roi_entry}/"): lambda c: {"amount": "300"},
    ("POST", "/api/v1/roi-entries/bulk/"): lambda c: {"project": c.project.slug, "rows": [ROI_ROW]},
    ("POST", "/api/v1/fx-rates/"): lambda c: {"currency": "GBP", "month": "2026-03", "rate": "1.17"},
    ("PUT", "/api/v1/fx-rates/{fx_rate}/"): lambda c: {"rate": "0.95"},
    ("PATCH", "/api/v1/fx-rates/{fx_rate}/"): lambda c: {"rate": "0.95"},
    ("POST", "/projects/new/"): project_form,
    ("POST", "/projects/{project}/edit/"): project_edit_form,
    ("POST", "/projects/{project}/stage/"): lambda c: {"stage": "design", "reason": "Design approved"},
    ("POST", "/api/v1/teams/"): lambda c: {"name": "Risk analytics"},
    ("PUT", "/api/v1/teams/{team}/"): lambda c: {"name": "Claims", "description": "Handles claims."},
    ("PATCH", "/api/v1/teams/{team}/"): lambda c: {"description": "Handles claims."},
    ("POST", "/api/v1/projects/"): project_json,
    ("PUT", "/api/v1/projects/{project}/"): lambda c: project_json(c, name="Fraud scoring v2"),
    ("PATCH", "/api/v1/projects/{project}/"): lambda c: {"name": "Fraud scoring v2"},
    ("POST", "/api/v1/projects/{project}/transition/"): lambda c: {"stage": "design"},
    ("POST", "/projects/registries/{registry}/sync/"): lambda c: {},
    ("POST", "/governance/audit/verify/"): lambda c: {},
    ("POST", "/projects/{project}/models/link/"): lambda c: {"model": c.unlinked_model.pk},
    ("POST", "/api/v1/registries/"): lambda c: {"name": "sagemaker-eu", "kind": "sagemaker", "region": "eu-west-1"},
    ("PUT", "/api/v1/registries/{registry}/"): lambda c: {
        "name": "mlflow-prod",
        "kind": "mlflow",
        "base_url": "http://mlflow.example:5000",
        "sync_interval_seconds": 600,
    },
    ("PATCH", "/api/v1/registries/{registry}/"): lambda c: {"sync_interval_seconds": 600},
    ("POST", "/api/v1/registries/{registry}/sync/"): lambda c: {},
    # The model is linked to the project by its tag; a hand link replaces that (one audited change).
    ("PATCH", "/api/v1/registered-models/{model}/"): lambda c: {"project": c.project.slug},
    # Risks, mitigations, findings: each changes something (an unchanged write records nothing).
    ("POST", "/api/v1/risks/"): lambda c: {
        "project": c.project.slug,
        "title": "Biased outcomes",
        "category": "fairness",
        "likelihood": 3,
        "impact": 4,
    },
    ("PUT", "/api/v1/risks/{risk}/"): lambda c: {
        "title": "Model drift in production",
        "category": "robustness",
        "likelihood": 4,
        "impact": 4,
    },
    ("PATCH", "/api/v1/risks/{risk}/"): lambda c: {"title": "Model drift after retraining"},
    ("POST", "/api/v1/risks/{risk}/transition/"): lambda c: {"status": "mitigating"},
    ("POST", "/api/v1/risks/{risk}/review/"): lambda c: {"note": "Checked the drift monitor."},
    ("POST", "/api/v1/mitigations/"): lambda c: {"risk": c.risk.pk, "action": "Add a drift alert"},
    ("PUT", "/api/v1/mitigations/{mitigation}/"): lambda c: {
        "action": "Weekly drift report",
        "owner": c.team_lead.username,
        "status": "in_progress",
    },
    ("PATCH", "/api/v1/mitigations/{mitigation}/"): lambda c: {"status": "done"},
    ("POST", "/api/v1/findings/{finding}/assign/"): lambda c: {"assignee": c.team_lead.username},
    ("POST", "/api/v1/findings/{finding}/resolve/"): lambda c: {"resolution": "Reviewed in the risk committee."},
    ("POST", "/governance/findings/{finding}/assign/"): lambda c: {"assignee": c.team_lead.username},
    ("POST", "/governance/findings/{finding}/resolve/"): lambda c: {"resolution": "Reviewed in the risk committee."},
    ("POST", "/governance/findings/bulk/"): lambda c: {
        "action": "resolve",
        "resolution": "Reviewed in the risk committee.",
        "findings": [Finding.objects.get(project=c.project).pk],
    },
    # Notifications: only the recipient's own; preferences per person (audited), marking read is not.
    ("POST", "/governance/notifications/read/"): lambda c: {},
    ("POST", "/governance/notifications/preferences/"): lambda c: {
        **{kind: "immediately" for kind in NotificationKind.values},
        "finding_opened": "off",
    },
    # Incidents (incident_rows): one open on `project` with an open corrective action, one ready to close.
    ("POST", "/api/v1/incidents/"): lambda c: incident_json(c),
    ("PATCH", "/api/v1/incidents/{incident}/"): lambda c: {"root_cause": "A stale feature."},
    ("POST", "/api/v1/incidents/{incident}/note/"): lambda c: {"text": "Rolled back to version 1."},
    ("POST", "/api/v1/incidents/{incident}/actions/"): lambda c: {
        "description": "Add a drift alert",
        "owner": c.team_lead.username,
        "due_on": "2026-04-01",
    },
    ("POST", "/api/v1/incidents/{incident}/complete-action/"): lambda c: {"action": c.incidents.action.pk},
    ("POST", "/api/v1/incidents/{incident}/report/"): lambda c: {"reported_at": "2026-03-05T10:00:00Z"},
    ("POST", "/api/v1/incidents/{closable_incident}/close/"): lambda c: {},
    ("POST", "/governance/incidents/new/"): lambda c: incident_form(c),
    ("POST", "/governance/incidents/{incident}/edit/"): lambda c: incident_form(c, root_cause="A stale feature."),
    ("POST", "/governance/incidents/{incident}/note/"): lambda c: {"text": "Rolled back to version 1."},
    ("POST", "/governance/incidents/{incident}/action/"): lambda c: {
        "description": "Add a drift alert",
        "owner": c.team_lead.username,
        "due_on": "2026-04-01",
    },
    ("POST", "/governance/incidents/{incident}/complete/"): lambda c: {"action": c.incidents.action.pk},
    ("POST", "/governance/incidents/{incident}/report/"): lambda c: {"reported_at": "2026-03-05T10:00"},
    ("POST", "/governance/incidents/{closable_incident}/close/"): lambda c: {},
    # Sign-off: a request for version 1 (version 2 already has a pending one); decisions with a comment.
    ("POST", "/api/v1/signoffs/"): lambda c: {"model_version": c.version1.pk, "justification": "Validated."},
    ("POST", "/api/v1/signoffs/{signoff}/approve/"): lambda c: {"comment": "Evidence complete."},
    ("POST", "/api/v1/signoffs/{signoff}/reject/"): lambda c: {"comment": "Bias test missing."},
    ("POST", "/api/v1/signoffs/{signoff}/request-changes/"): lambda c: {"comment": "Add the bias test."},
    ("POST", "/api/v1/signoffs/{signoff}/withdraw/"): lambda c: {"reason": "Retraining first."},
    ("POST", "/governance/signoffs/{signoff}/decide/"): lambda c: {"verdict": "approve", "comment": "Complete."},
    ("POST", "/governance/signoffs/{signoff}/withdraw/"): lambda c: {"reason": "Retraining first."},
    ("POST", "/governance/signoffs/policies/publish/"): lambda c: {
        "tier": "limited",
        "required_roles": ["Risk Officer"],
        "min_approvers": 1,
        "approvable": "on",
    },
    ("POST", "/governance/projects/{project}/signoffs/new/"): lambda c: {"version": c.version1.pk},
    ("POST", "/api/v1/signoff-policies/"): lambda c: {
        "tier": "limited",
        "required_roles": ["Risk Officer", "Compliance Officer"],
        "min_approvers": 2,
        "recertify_days": 365,
    },
    # Risk register pages (forms): the risk is high, so accepting it is a risk officer's call alone.
    ("POST", "/governance/projects/{project}/risks/new/"): lambda c: {
        "title": "Biased outcomes",
        "category": "fairness",
        "likelihood": "3",
        "impact": "4",
        "owner": c.team_lead.pk,
    },
    ("POST", "/governance/risks/{risk}/edit/"): lambda c: {
        "title": "Model drift after retraining",
        "category": "robustness",
        "likelihood": "4",
        "impact": "4",
        "residual_likelihood": "4",
        "residual_impact": "4",
        "owner": c.team_lead.pk,
    },
    ("POST", "/governance/risks/{risk}/transition/"): lambda c: {"status": "mitigating"},
    ("POST", "/governance/risks/{risk}/transition/?accept"): lambda c: {
        "status": "accepted",
        "justification": "Drift is watched daily; the residual risk is within appetite.",
        "accept_until": (timezone.localdate() + dt.timedelta(days=90)).isoformat(),
    },
    ("POST", "/governance/risks/{risk}/review/"): lambda c: {"note": "Checked the drift monitor."},
    ("POST", "/governance/risks/{risk}/mitigations/"): lambda c: {
        "action": "Add a drift alert",
        "owner": c.team_lead.pk,
        "status": "planned",
    },
    ("POST", "/governance/mitigations/{mitigation}/status/"): lambda c: {"status": "done"},
    # Tier assessment: every answer at its default but one (a chatbot: limited risk); a new version each time.
    ("POST", "/governance/projects/{project}/tier/"): lambda c: complete(E1="yes"),
    ("POST", "/api/v1/risk-assessments/"): lambda c: {"project": c.project.slug, "answers": complete(E1="yes")},
}

# fmt: off
MATRIX = [
    # Columns: anonymous, no role, executive, risk officer, lead of the project's team, lead of another team, admin.
    # method path                                      anon     no_role  exec     risk     lead     other    admin
    ("GET",   "/",                                      LOGIN,   OK,      OK,      OK,      OK,      OK,      OK),
    ("GET",   "/projects/",                             LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/projects/?export=csv",                  LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/projects/new/",                         LOGIN,   DENIED,  DENIED,  DENIED,  OK,      OK,      OK),
    # Another team is not among a team lead's choices: the form refuses it (the API answers 403).
    ("POST",  "/projects/new/",                         LOGIN,   DENIED,  DENIED,  DENIED,  SAVED,   REFUSED, SAVED),
    ("GET",   "/projects/{project}/",                   LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/projects/{project}/edit/",              LOGIN,   DENIED,  DENIED,  DENIED,  OK,      HIDDEN,  OK),
    ("POST",  "/projects/{project}/edit/",              LOGIN,   DENIED,  DENIED,  DENIED,  SAVED,   HIDDEN,  SAVED),
    ("GET",   "/projects/{project}/stage/",             LOGIN,   DENIED,  DENIED,  DENIED,  OK,      HIDDEN,  OK),
    ("POST",  "/projects/{project}/stage/",             LOGIN,   DENIED,  DENIED,  DENIED,  SAVED,   HIDDEN,  SAVED),
    ("GET",   "/governance/audit/",                     LOGIN,   DENIED,  DENIED,  OK,      DENIED,  DENIED,  OK),
    ("GET",   "/governance/audit/chain/",               LOGIN,   DENIED,  DENIED,  OK,      DENIED,  DENIED,  OK),
    # The offline-verifiable export (a .zip): audit readers only.
    ("GET",   "/governance/audit/bundle/",              LOGIN,   DENIED,  DENIED,  OK,      DENIED,  DENIED,  OK),
    # Only admins ask a worker to verify the chain (audited); the page shows the result to every reader.
    ("POST",  "/governance/audit/verify/",              LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  SAVED),
    ("GET",   "/api/docs/",                             LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    # The schema is fetched by machines (token auth) too, so it answers like the API.
    ("GET",   "/api/schema/",                           NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/",                               NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/teams/",                         NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("POST",  "/api/v1/teams/",                         NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  CREATED),
    ("GET",   "/api/v1/teams/{team}/",                  NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("PUT",   "/api/v1/teams/{team}/",                  NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  OK),
    ("PATCH", "/api/v1/teams/{team}/",                  NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  OK),
    # The team still owns the project, so even the admin's delete is refused (400), and nothing is lost.
    ("DELETE", "/api/v1/teams/{team}/",                 NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  BAD),
    ("GET",   "/api/v1/projects/",                      NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    # The other lead cannot see the Claims team, so its slug reads as unknown (400), not as forbidden.
    ("POST",  "/api/v1/projects/",                      NO_AUTH, DENIED,  DENIED,  DENIED,  CREATED, BAD,     CREATED),
    ("GET",   "/api/v1/projects/{project}/",            NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("PUT",   "/api/v1/projects/{project}/",            NO_AUTH, DENIED,  DENIED,  DENIED,  OK,      HIDDEN,  OK),
    ("PATCH", "/api/v1/projects/{project}/",            NO_AUTH, DENIED,  DENIED,  DENIED,  OK,      HIDDEN,  OK),
    ("POST",  "/api/v1/projects/{project}/transition/", NO_AUTH, DENIED,  DENIED,  DENIED,  OK,      HIDDEN,  OK),
    ("DELETE", "/api/v1/projects/{project}/",           NO_AUTH, DENIED,  DENIED,  DENIED,  GONE,    HIDDEN,  GONE),
    ("GET",   "/api/v1/audit-events/",                  NO_AUTH, DENIED,  DENIED,  OK,      DENIED,  DENIED,  OK),
    ("GET",   "/api/v1/audit-events/{seq}/",            NO_AUTH, DENIED,  DENIED,  OK,      DENIED,  DENIED,  OK),
    # Registries: every role reads their health; only admins change them or ask for a sync (which is audited).
    ("GET",   "/projects/registries/",                  LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("POST",  "/projects/registries/{registry}/sync/",  LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  SAVED),
    # A registry's page and its polled row: every role; a team lead sees its models in their scope (the page's
    # own tests). A registered model's address redirects to its place on that page, within the same scope.
    ("GET",   "/projects/registries/{registry}/",       LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/projects/registries/{registry}/row/",   LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/projects/registries/models/{model}/",   LOGIN,   DENIED,  MOVED,   MOVED,   MOVED,   HIDDEN,  MOVED),
    ("GET",   "/projects/{project}/models/link/",       LOGIN,   DENIED,  DENIED,  DENIED,  OK,      HIDDEN,  OK),
    ("POST",  "/projects/{project}/models/link/",       LOGIN,   DENIED,  DENIED,  DENIED,  SAVED,   HIDDEN,  SAVED),
    ("GET",   "/api/v1/registries/",                    NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("POST",  "/api/v1/registries/",                    NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  CREATED),
    ("GET",   "/api/v1/registries/{registry}/",         NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("PUT",   "/api/v1/registries/{registry}/",         NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  OK),
    ("PATCH", "/api/v1/registries/{registry}/",         NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  OK),
    # The registry holds models and their deployment history: even the admin's delete is refused (disable it).
    ("DELETE", "/api/v1/registries/{registry}/",        NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  BAD),
    ("POST",  "/api/v1/registries/{registry}/sync/",    NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  ACCEPTED),
    ("GET",   "/api/v1/registered-models/",             NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/registered-models/{model}/",     NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("PATCH", "/api/v1/registered-models/{model}/",     NO_AUTH, DENIED,  DENIED,  DENIED,  OK,      HIDDEN,  OK),
    ("GET",   "/api/v1/model-versions/",                NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/model-versions/{version}/",      NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/api/v1/deployments/",                   NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/deployments/?at=2025-11-03T10:00:00Z", NO_AUTH, DENIED, OK, OK,      OK,      OK,      OK),
    # Risks: team leads change their own teams' registers, risk officers and admins every one; the
    # body's risk is high but not accepted here. Another team's project slug reads as unknown (400).
    ("GET",   "/api/v1/risks/",                         NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("POST",  "/api/v1/risks/",                         NO_AUTH, DENIED,  DENIED,  CREATED, CREATED, BAD,     CREATED),
    ("GET",   "/api/v1/risks/?level=high&overdue=false", NO_AUTH, DENIED, OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/risks/{risk}/",                  NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("PUT",   "/api/v1/risks/{risk}/",                  NO_AUTH, DENIED,  DENIED,  OK,      OK,      HIDDEN,  OK),
    ("PATCH", "/api/v1/risks/{risk}/",                  NO_AUTH, DENIED,  DENIED,  OK,      OK,      HIDDEN,  OK),
    # Risks are closed, never deleted: every delete the permissions let through is refused (400).
    ("DELETE", "/api/v1/risks/{risk}/",                 NO_AUTH, DENIED,  DENIED,  BAD,     BAD,     HIDDEN,  BAD),
    ("POST",  "/api/v1/risks/{risk}/transition/",       NO_AUTH, DENIED,  DENIED,  OK,      OK,      HIDDEN,  OK),
    ("POST",  "/api/v1/risks/{risk}/review/",           NO_AUTH, DENIED,  DENIED,  OK,      OK,      HIDDEN,  OK),
    ("GET",   "/api/v1/mitigations/",                   NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    # Another team's risk id reads as unknown (400).
    ("POST",  "/api/v1/mitigations/",                   NO_AUTH, DENIED,  DENIED,  CREATED, CREATED, BAD,     CREATED),
    ("GET",   "/api/v1/mitigations/{mitigation}/",      NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("PUT",   "/api/v1/mitigations/{mitigation}/",      NO_AUTH, DENIED,  DENIED,  OK,      OK,      HIDDEN,  OK),
    ("PATCH", "/api/v1/mitigations/{mitigation}/",      NO_AUTH, DENIED,  DENIED,  OK,      OK,      HIDDEN,  OK),
    # Findings: everyone reads their scope's; risk officers and admins triage them.
    ("GET",   "/api/v1/findings/",                      NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/findings/{finding}/",            NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("POST",  "/api/v1/findings/{finding}/assign/",     NO_AUTH, DENIED,  DENIED,  OK,      DENIED,  DENIED,  OK),
    ("POST",  "/api/v1/findings/{finding}/resolve/",    NO_AUTH, DENIED,  DENIED,  OK,      DENIED,  DENIED,  OK),
    ("GET",   "/governance/findings/",                  LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/findings/?open=true&severity=high", LOGIN, DENIED, OK,   OK,      OK,      OK,      OK),
    ("POST",  "/governance/findings/{finding}/assign/", LOGIN,   DENIED,  DENIED,  SAVED,   DENIED,  DENIED,  SAVED),
    ("POST",  "/governance/findings/{finding}/resolve/", LOGIN,  DENIED,  DENIED,  SAVED,   DENIED,  DENIED,  SAVED),
    ("GET",   "/governance/findings/{finding}/",        LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("POST",  "/governance/findings/bulk/",             LOGIN,   DENIED,  DENIED,  SAVED,   DENIED,  DENIED,  SAVED),
    ("GET",   "/governance/notifications/",             LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/notifications/badge/",       LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("POST",  "/governance/notifications/read/",        LOGIN,   DENIED,  SAVED,   SAVED,   SAVED,   SAVED,   SAVED),
    # The team lead's own notification: followed to its page; anyone else's is not found.
    ("GET",   "/governance/notifications/{notification}/", LOGIN, DENIED, HIDDEN,  HIDDEN,  MOVED,   HIDDEN,  HIDDEN),
    ("GET",   "/governance/notifications/preferences/", LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("POST",  "/governance/notifications/preferences/", LOGIN,   DENIED,  SAVED,   SAVED,   SAVED,   SAVED,   SAVED),
    ("GET",   "/api/v1/incidents/",                     NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    # The other lead cannot name another team's project: a 400, not a leak.
    ("POST",  "/api/v1/incidents/",                     NO_AUTH, DENIED,  DENIED,  CREATED, CREATED, BAD,     CREATED),
    ("GET",   "/api/v1/incidents/{incident}/",          NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("PATCH", "/api/v1/incidents/{incident}/",          NO_AUTH, DENIED,  DENIED,  OK,      OK,      HIDDEN,  OK),
    ("POST",  "/api/v1/incidents/{incident}/note/",     NO_AUTH, DENIED,  DENIED,  OK,      OK,      HIDDEN,  OK),
    ("POST",  "/api/v1/incidents/{incident}/actions/",  NO_AUTH, DENIED,  DENIED,  OK,      OK,      HIDDEN,  OK),
    ("POST",  "/api/v1/incidents/{incident}/complete-action/", NO_AUTH, DENIED, DENIED, OK, OK,     HIDDEN,  OK),
    ("POST",  "/api/v1/incidents/{incident}/report/",   NO_AUTH, DENIED,  DENIED,  OK,      DENIED,  DENIED,  OK),
    ("POST",  "/api/v1/incidents/{closable_incident}/close/", NO_AUTH, DENIED, DENIED, OK,  DENIED,  DENIED,  OK),
    ("GET",   "/governance/incidents/",                 LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/incidents/?status=open&serious=unknown", LOGIN, DENIED, OK, OK,   OK,      OK,      OK),
    ("GET",   "/governance/incidents/new/",             LOGIN,   DENIED,  DENIED,  OK,      OK,      OK,      OK),
    ("POST",  "/governance/incidents/new/",             LOGIN,   DENIED,  DENIED,  SAVED,   SAVED,   REFUSED, SAVED),
    ("GET",   "/governance/incidents/{incident}/",      LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("POST",  "/governance/incidents/{incident}/edit/", LOGIN,   DENIED,  DENIED,  SAVED,   SAVED,   HIDDEN,  SAVED),
    ("POST",  "/governance/incidents/{incident}/note/", LOGIN,   DENIED,  DENIED,  SAVED,   SAVED,   HIDDEN,  SAVED),
    ("POST",  "/governance/incidents/{incident}/action/", LOGIN, DENIED,  DENIED,  SAVED,   SAVED,   HIDDEN,  SAVED),
    ("POST",  "/governance/incidents/{incident}/complete/", LOGIN, DENIED, DENIED, SAVED,   SAVED,   HIDDEN,  SAVED),
    ("POST",  "/governance/incidents/{incident}/report/", LOGIN, DENIED,  DENIED,  SAVED,   DENIED,  DENIED,  SAVED),
    ("POST",  "/governance/incidents/{closable_incident}/close/", LOGIN, DENIED, DENIED, SAVED, DENIED, DENIED, SAVED),
    # Risk register pages: everyone reads their scope's; writers change the registers they may change.
    ("GET",   "/governance/risks/",                     LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/risks/?axis=inherent&likelihood=4&impact=4", LOGIN, DENIED, OK, OK, OK,   OK,      OK),
    ("GET",   "/governance/risks/?export=csv",          LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/risks/?export=xlsx",         LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/projects/{project}/risks/",  LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/governance/projects/{project}/risks/new/", LOGIN, DENIED, DENIED,  OK,      OK,      HIDDEN,  OK),
    ("POST",  "/governance/projects/{project}/risks/new/", LOGIN, DENIED, DENIED,  SAVED,   SAVED,   HIDDEN,  SAVED),
    ("GET",   "/governance/risks/{risk}/",              LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/governance/risks/{risk}/edit/",         LOGIN,   DENIED,  DENIED,  OK,      OK,      HIDDEN,  OK),
    ("POST",  "/governance/risks/{risk}/edit/",         LOGIN,   DENIED,  DENIED,  SAVED,   SAVED,   HIDDEN,  SAVED),
    ("POST",  "/governance/risks/{risk}/transition/",   LOGIN,   DENIED,  DENIED,  SAVED,   SAVED,   HIDDEN,  SAVED),
    # Accepting the high residual risk: the page shows the refusal to anyone but a risk officer (an admin too).
    ("POST",  "/governance/risks/{risk}/transition/?accept", LOGIN, DENIED, DENIED, SAVED,  REFUSED, HIDDEN,  REFUSED),
    ("POST",  "/governance/risks/{risk}/review/",       LOGIN,   DENIED,  DENIED,  SAVED,   SAVED,   HIDDEN,  SAVED),
    ("POST",  "/governance/risks/{risk}/mitigations/",  LOGIN,   DENIED,  DENIED,  SAVED,   SAVED,   HIDDEN,  SAVED),
    ("POST",  "/governance/mitigations/{mitigation}/status/", LOGIN, DENIED, DENIED, SAVED, SAVED,   HIDDEN,  SAVED),
    # EU AI Act tier: everyone reads their scope's; team leads assess their own teams' projects, risk officers
    # and admins every project. Another team's project slug reads as unknown in the API (400).
    ("GET",   "/governance/projects/{project}/tier/",   LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("POST",  "/governance/projects/{project}/tier/",   LOGIN,   DENIED,  DENIED,  SAVED,   SAVED,   HIDDEN,  SAVED),
    ("GET",   "/api/v1/risk-assessments/",              NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/risk-assessments/?tier=high&current=true", NO_AUTH, DENIED, OK, OK,  OK,      OK,      OK),
    ("POST",  "/api/v1/risk-assessments/",              NO_AUTH, DENIED,  DENIED,  CREATED, CREATED, BAD,     CREATED),
    ("GET",   "/api/v1/risk-assessments/{assessment}/", NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/api/v1/risk-assessments/questions/",    NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    # Sign-off (the project is high tier: a risk officer and a compliance officer must approve). Team leads
    # request for their teams' versions; any role may try to decide and the service refuses (and audits)
    # those who may not: the requester (team_lead), non-reviewers (executive, admin).
    ("GET",   "/api/v1/signoffs/",                      NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/signoffs/?status=pending",       NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("POST",  "/api/v1/signoffs/",                      NO_AUTH, DENIED,  DENIED,  DENIED,  CREATED, BAD,     CREATED),
    ("GET",   "/api/v1/signoffs/queue/",                NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/signoffs/{signoff}/",            NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/api/v1/signoffs/{signoff}/freshness/",  NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("POST",  "/api/v1/signoffs/{signoff}/approve/",    NO_AUTH, DENIED,  DENIED,  OK,      DENIED,  HIDDEN,  DENIED),
    ("POST",  "/api/v1/signoffs/{signoff}/reject/",     NO_AUTH, DENIED,  DENIED,  OK,      DENIED,  HIDDEN,  DENIED),
    ("POST",  "/api/v1/signoffs/{signoff}/request-changes/", NO_AUTH, DENIED, DENIED, OK,   DENIED,  HIDDEN,  DENIED),
    ("POST",  "/api/v1/signoffs/{signoff}/withdraw/",   NO_AUTH, DENIED,  DENIED,  DENIED,  OK,      HIDDEN,  OK),
    ("GET",   "/api/v1/signoff-policies/",              NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/signoff-policies/{policy}/",     NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("POST",  "/api/v1/signoff-policies/",              NO_AUTH, DENIED,  DENIED,  CREATED, DENIED,  DENIED,  CREATED),
    # The gate answers every role (another team's model reads as unknown: 200, denied); its key is public.
    ("GET",   "/api/v1/gate?registry=mlflow-prod&model=fraud-detector&version=2&environment=production",
                                                        NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/gate/public-key",                OK,      OK,      OK,      OK,      OK,      OK,      OK),
    # Sign-off pages: everyone reads their scope's; reviewers decide (the risk officer's approval is one of the
    # two the high tier needs, so the request stays pending); the project's team lead and admins request and
    # withdraw. Roles are checked before scope, so another team's lead is refused a decision (403) before
    # the request is looked up.
    ("GET",   "/governance/signoffs/",                  LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/signoffs/?tab=all&status=pending&tier=high", LOGIN, DENIED, OK, OK, OK,  OK,      OK),
    ("GET",   "/governance/signoffs/{signoff}/",        LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("POST",  "/governance/signoffs/{signoff}/decide/", LOGIN,   DENIED,  DENIED,  SAVED,   DENIED,  DENIED,  DENIED),
    ("POST",  "/governance/signoffs/{signoff}/withdraw/", LOGIN, DENIED,  DENIED,  DENIED,  SAVED,   HIDDEN,  SAVED),
    # Sign-off policies: everyone reads them; risk officers and admins publish the next version.
    ("GET",   "/governance/signoffs/policies/",         LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/signoffs/policies/?tier=high", LOGIN, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/signoffs/policies/publish/", LOGIN,   DENIED,  DENIED,  OK,      DENIED,  DENIED,  OK),
    ("POST",  "/governance/signoffs/policies/publish/", LOGIN,   DENIED,  DENIED,  SAVED,   DENIED,  DENIED,  SAVED),
    ("GET",   "/governance/projects/{project}/signoffs/", LOGIN, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("POST",  "/governance/projects/{project}/signoffs/new/", LOGIN, DENIED, DENIED, DENIED, SAVED,   HIDDEN,  SAVED),
    # The portfolio dashboard and its figures: every role reads them for its own scope; a team lead who
    # names another team's slug is refused (400), as in every team filter.
    ("GET",   "/governance/dashboard/",                 LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/dashboard/?team=claims&stage=production&tier=high", LOGIN, DENIED, OK, OK, OK, OK, OK),
    ("GET",   "/governance/dashboard/?export=csv&table=months", LOGIN, DENIED, OK, OK,  OK,      OK,      OK),
    ("GET",   "/governance/dashboard/?export=xlsx",     LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/portfolio/summary",              NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/portfolio/summary?team=claims",  NO_AUTH, DENIED,  OK,      OK,      OK,      BAD,     OK),
    # Champion / challenger of the models in the caller's scope; another team's project is not found.
    ("GET",   "/api/v1/champion-challenger",            NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/champion-challenger?project={project}", NO_AUTH, DENIED, OK, OK,   OK,      HIDDEN,  OK),
    # ROI ledger: everyone in scope reads it; the lead of the project's team and admins log; admins set FX rates.
    ("GET",   "/projects/{project}/roi/",               LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/projects/{project}/roi/?export=csv",    LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("POST",  "/projects/{project}/roi/",               LOGIN,   DENIED,  DENIED,  DENIED,  SAVED,   HIDDEN,  SAVED),
    ("POST",  "/projects/{project}/roi/import/",        LOGIN,   DENIED,  DENIED,  DENIED,  SAVED,   HIDDEN,  SAVED),
    ("GET",   "/projects/{project}/roi/template.csv",   LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/projects/{project}/roi/template.xlsx",  LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/projects/{project}/roi/{roi_entry}/delete/", LOGIN, DENIED, DENIED, DENIED, OK,      HIDDEN,  OK),
    ("POST",  "/projects/{project}/roi/{roi_entry}/delete/", LOGIN, DENIED, DENIED, DENIED, SAVED,   HIDDEN,  SAVED),
    ("POST",  "/projects/{project}/roi/deleted/{roi_deletion}/restore/", LOGIN, DENIED, DENIED, DENIED, SAVED, HIDDEN,
     SAVED),
    # Quick-log offers only the caller's own team projects: another team's (or an admin without a team) is refused.
    ("POST",  "/projects/roi/quick-log/",               LOGIN,   DENIED,  DENIED,  DENIED,  SAVED,   REFUSED, REFUSED),
    ("GET",   "/api/v1/roi-entries/",                   NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/roi-entries/?month_from=2026-01&kind=cost", NO_AUTH, DENIED, OK, OK, OK,      OK,      OK),
    # Another team's project slug reads as unknown (400).
    ("POST",  "/api/v1/roi-entries/",                   NO_AUTH, DENIED,  DENIED,  DENIED,  CREATED, BAD,     CREATED),
    ("POST",  "/api/v1/roi-entries/bulk/",              NO_AUTH, DENIED,  DENIED,  DENIED,  OK,      BAD,     OK),
    ("GET",   "/api/v1/roi-entries/{roi_entry}/",       NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("PUT",   "/api/v1/roi-entries/{roi_entry}/",       NO_AUTH, DENIED,  DENIED,  DENIED,  OK,      HIDDEN,  OK),
    ("PATCH", "/api/v1/roi-entries/{roi_entry}/",       NO_AUTH, DENIED,  DENIED,  DENIED,  OK,      HIDDEN,  OK),
    ("DELETE", "/api/v1/roi-entries/{roi_entry}/",      NO_AUTH, DENIED,  DENIED,  DENIED,  GONE,    HIDDEN,  GONE),
    ("POST",  "/api/v1/roi-entries/{deleted_entry}/restore/", NO_AUTH, DENIED, DENIED, DENIED, CREATED, HIDDEN,
     CREATED),
    ("GET",   "/api/v1/fx-rates/",                      NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("POST",  "/api/v1/fx-rates/",                      NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  CREATED),
    ("GET",   "/api/v1/fx-rates/{fx_rate}/",            NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("PUT",   "/api/v1/fx-rates/{fx_rate}/",            NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  OK),
    ("PATCH", "/api/v1/fx-rates/{fx_rate}/",            NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  OK),
    # Lineage ingest: admins and team leads (a pipeline's machine user). The data inventory: every role reads
    # it; a dataset is linked by hand to a version by risk officers, admins and the lead of the version's
    # project (the version here belongs to no project, so team leads are refused).
    ("POST",  "/api/v1/lineage",                        NO_AUTH, DENIED,  DENIED,  DENIED,  CREATED, CREATED, CREATED),
    ("POST",  "/api/v1/lineage/",                       NO_AUTH, DENIED,  DENIED,  DENIED,  CREATED, CREATED, CREATED),
    ("GET",   "/api/v1/lineage/status",                 NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/datasets/",                      NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/datasets/?namespace=postgres://db:5432&type=TABLE", NO_AUTH, DENIED, OK, OK, OK, OK,   OK),
    ("GET",   "/api/v1/datasets/{dataset}/",            NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("POST",  "/api/v1/datasets/{dataset}/link-model/", NO_AUTH, DENIED,  DENIED,  OK,      DENIED,  DENIED,  OK),
    # PII and compliance: every role reads the inventory and datasets (organisation-wide metadata); risk and
    # compliance officers and admins classify and record; obligations and evidence are scoped to visible
    # projects; evidence is given by the project's team, risk and compliance officers and admins.
    ("GET",   "/governance/pii/",                       LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/pii/labels/",                LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/pii/labels/?gdpr_class=special&origin=manual", LOGIN, DENIED, OK, OK, OK,  OK,      OK),
    ("GET",   "/governance/pii/?pii=suggested&q=customers", LOGIN, DENIED, OK,   OK,      OK,      OK,      OK),
    ("POST",  "/governance/pii/bulk/",                  LOGIN,   DENIED,  DENIED,  SAVED,   DENIED,  DENIED,  SAVED),
    ("GET",   "/governance/pii/inventory/",             LOGIN,   DENIED,  DENIED,  OK,      DENIED,  DENIED,  OK),
    ("POST",  "/governance/pii/inventory/register/",    LOGIN,   DENIED,  DENIED,  SAVED,   DENIED,  DENIED,  SAVED),
    ("POST",  "/governance/pii/inventory/import/",      LOGIN,   DENIED,  DENIED,  SAVED,   DENIED,  DENIED,  SAVED),
    ("GET",   "/governance/pii/inventory/template.csv", LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/governance/datasets/{dataset}/",        LOGIN,   DENIED,  OK,      OK,      OK,      OK,      OK),
    ("POST",  "/governance/datasets/{dataset}/classify/", LOGIN, DENIED,  DENIED,  SAVED,   DENIED,  DENIED,  SAVED),
    ("POST",  "/governance/datasets/{dataset}/compliance/", LOGIN, DENIED, DENIED, SAVED,   DENIED,  DENIED,  SAVED),
    ("POST",  "/governance/classifications/{classification}/retract/",
                                                        LOGIN,   DENIED,  DENIED,  SAVED,   DENIED,  DENIED,  SAVED),
    ("GET",   "/governance/projects/{project}/compliance/", LOGIN, DENIED, OK,     OK,      OK,      HIDDEN,  OK),
    # Monitoring: admins and the project's team lead post signals (another team's version reads as unknown: 400)
    # and change the plan; everyone in scope reads the tab.
    ("POST",  "/api/v1/signals",                        NO_AUTH, DENIED,  DENIED,  DENIED,  CREATED, BAD,     CREATED),
    ("GET",   "/api/v1/monitoring-signals/",            NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/monitoring-signals/?name=psi&source=webhook", NO_AUTH, DENIED, OK, OK, OK,   OK,      OK),
    ("GET",   "/api/v1/monitoring-signals/{signal}/",   NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/governance/projects/{project}/monitoring/", LOGIN, DENIED, OK,     OK,      OK,      HIDDEN,  OK),
    ("POST",  "/governance/projects/{project}/monitoring/", LOGIN, DENIED, DENIED, DENIED,  SAVED,   HIDDEN,  SAVED),
    ("POST",  "/governance/monitoring/plan/{plan_item}/delete/", LOGIN, DENIED, DENIED, DENIED, SAVED, HIDDEN, SAVED),
    ("POST",  "/governance/obligations/{obligation}/evidence/", LOGIN, DENIED, DENIED, SAVED, SAVED,   HIDDEN,  SAVED),
    ("GET",   "/governance/evidence/{evidence}/file/",  LOGIN,   DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/api/v1/classifications/",               NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/classifications/?pii_kind=email&origin=derived", NO_AUTH, DENIED, OK, OK, OK,  OK,      OK),
    ("POST",  "/api/v1/classifications/",               NO_AUTH, DENIED,  DENIED,  CREATED, DENIED,  DENIED,  CREATED),
    ("GET",   "/api/v1/classifications/{classification}/", NO_AUTH, DENIED, OK,    OK,      OK,      OK,      OK),
    ("DELETE", "/api/v1/classifications/{classification}/", NO_AUTH, DENIED, DENIED, GONE,  DENIED,  DENIED,  GONE),
    ("GET",   "/api/v1/obligations/",                   NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    ("GET",   "/api/v1/obligations/{obligation}/",      NO_AUTH, DENIED,  OK,      OK,      OK,      HIDDEN,  OK),
    ("GET",   "/api/v1/evidence/",                      NO_AUTH, DENIED,  OK,      OK,      OK,      OK,      OK),
    # Another team's obligation is not among the other lead's choices: a 400, not a leak.
    ("POST",  "/api/v1/evidence/",                      NO_AUTH, DENIED,  DENIED,  CREATED, CREATED, BAD,     CREATED),
    # The rate is not in use (no USD entry in 2026-01), so the admin may delete it.
    ("DELETE", "/api/v1/fx-rates/{fx_rate}/",           NO_AUTH, DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  GONE),
]
# fmt: on
# Audit events a request leaves when it is not the default (one for a successful write, none otherwise):
# every gate answer is audited; a refused sign-off decision is audited; a reject also closes the request.
_REFUSED_DECISION = {"executive": 1, "team_lead": 1, "admin": 1}
EVENTS = {
    ("GET", "/api/v1/gate?registry=mlflow-prod&model=fraud-detector&version=2&environment=production"): {
        p: 1 for p in ("executive", "risk_officer", "team_lead", "other_lead", "admin")
    },
    ("POST", "/api/v1/signoffs/{signoff}/approve/"): _REFUSED_DECISION,
    ("POST", "/api/v1/signoffs/{signoff}/reject/"): {**_REFUSED_DECISION, "risk_officer": 2},
    ("POST", "/api/v1/signoffs/{signoff}/request-changes/"): _REFUSED_DECISION,
    # Marking notifications read is not a governance decision: not audited.
    ("POST", "/governance/notifications/read/"): dict.fromkeys(PERSONAS, 0),
}
CASES = [
    pytest.param(method, path, persona, expected, id=f"{method} {path} as {persona}")
    for method, path, *answers in MATRIX
    for persona, expected in zip(PERSONAS, answers, strict=True)
]
# Reachable without a role by design (single sign-on answers 404 unless configured); admin: URLs are skipped too
# (Django admin checks is_staff itself).
UNCLASSIFIED = {"login", "logout", "healthz", "readyz", "oidc_authentication_init", "oidc_authentication_callback"}
SAMPLE = {"project": "fraud-scoring", "team": "claims", "seq": "1", "registry": "1", "model": "1", "version": "1"}
SAMPLE.update(risk="1", mitigation="1", finding="1")
SAMPLE.update(assessment="1", signoff="1", policy="1")
SAMPLE.update(roi_entry="1", fx_rate="1", roi_deletion="1", deleted_entry="1")
SAMPLE.update(dataset="1")
SAMPLE.update(classification="1", obligation="1", evidence="1")
SAMPLE.update(incident="1", closable_incident="1", notification="1")
SAMPLE.update(plan_item="1", signal="1")


@pytest.fixture
def roi_rows(project, team_lead):
    """An actual compute cost of `project` in 2026-03 (EUR), and a USD rate for 2026-01 that no entry uses."""
    from decimal import Decimal

    from projects.roi.services import fx_rate_set, roi_entry_create, roi_entry_delete

    fx = fx_rate_set(by=None, currency="USD", month=dt.date(2026, 1, 1), rate=Decimal("0.9"))
    entry = roi_entry_create(
        by=team_lead, project=project, month=dt.date(2026, 3, 1), kind="cost", category="compute",
        basis="actual", amount=Decimal("100"),
    )  # fmt: skip
    deleted = roi_entry_create(
        by=team_lead, project=project, month=dt.date(2026, 2, 1), kind="cost", category="compute",
        basis="actual", amount=Decimal("90"),
    )  # fmt: skip
    return SimpleNamespace(entry=entry, fx=fx, deletion=roi_entry_delete(by=team_lead, entry=deleted))


@pytest.fixture
def registry_rows(project, other_project):
    """A registry with a model linked to `project` by tag, one linked to `other_project`, one unlinked."""
    registry = RegistryFactory(name="mlflow-prod")
    linked = RegisteredModelFactory(
        registry=registry, name="fraud-detector", project=project, link_source=LinkSource.TAG
    )
    v1 = ModelVersionFactory(registered_model=linked, version="1")
    v2 = ModelVersionFactory(registered_model=linked, version="2")
    hold(v1, "champion", T0, T0 + dt.timedelta(hours=2))
    hold(v2, "champion", T0 + dt.timedelta(hours=2))
    theirs = RegisteredModelFactory(registry=registry, name="churn", project=other_project, link_source=LinkSource.TAG)
    ModelVersionFactory(registered_model=theirs, version="1")
    unlinked = RegisteredModelFactory(registry=registry, name="pricing-candidate")
    ModelVersionFactory(registered_model=unlinked, version="1")
    return SimpleNamespace(registry=registry, model=linked, version=v2, version1=v1, unlinked_model=unlinked)


@pytest.fixture
def plan_rows(project, team_lead):
    """One signal on `project`'s monitoring plan."""
    from governance.monitoring.services import monitoring_plan_item_save

    return monitoring_plan_item_save(project=project, by=team_lead, data={"name": "psi", "upper": 0.2})


@pytest.fixture
def signal_rows(registry_rows, team_lead):
    """One monitoring signal about version 2 of the project's model."""
    from governance.monitoring.services import SignalIn, signals_record

    out = signals_record(version=registry_rows.version, signals=[SignalIn("psi", 0.1, T0)], source="webhook",
                         by=team_lead)  # fmt: skip
    return out.created[0]


@pytest.fixture
def dataset_rows():
    """One dataset with a field, as ingest would have stored it."""
    from governance.models import Dataset, DatasetField, DataSource

    source = DataSource.objects.create(namespace="postgres://db:5432")
    dataset = Dataset.objects.create(
        source=source, namespace=source.namespace, name="crm.customers", dataset_type="TABLE"
    )
    DatasetField.objects.create(dataset=dataset, name="email", data_type="varchar")
    return dataset


@pytest.fixture
def compliance_rows(dataset_rows, registry_rows, assessment_rows, settings, tmp_path):
    """crm.customers.email (asserted) reaches the model dataset of `project`'s version 2 by column lineage,
    so the project has obligations; crm.notes.phone is asserted too and reaches nothing (the one retracted);
    AIA-12-LOGGING has a file as evidence."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from governance.compliance import services
    from governance.models import ColumnEdge, Dataset, DatasetField, Job, LineageEdge, Obligation

    settings.MEDIA_ROOT = tmp_path / "media"
    email = dataset_rows.fields.get(name="email")
    phone = DatasetField.objects.create(dataset=dataset_rows, name="phone")
    model = Dataset.objects.create(source=dataset_rows.source, namespace=dataset_rows.namespace, name="models.fraud",
                                   dataset_type="MODEL", model_version=registry_rows.version)  # fmt: skip
    features = DatasetField.objects.create(dataset=model, name="features")
    job = Job.objects.create(namespace="etl", name="train_fraud")
    LineageEdge.objects.create(job=job, source=dataset_rows, target=model, has_column_lineage=True)
    ColumnEdge.objects.create(job=job, source_field=email, target_field=features, transformation_type="DIRECT")
    services.classification_assert(by=None, dataset=dataset_rows, field=email, pii_kind="email")
    notes = Dataset.objects.create(source=dataset_rows.source, namespace=dataset_rows.namespace, name="crm.notes")
    notes_phone = DatasetField.objects.create(dataset=notes, name="phone")
    retractable = services.classification_assert(by=None, dataset=notes, field=notes_phone, pii_kind="phone")
    logging = Obligation.objects.get(project=registry_rows.model.project, rule_id="AIA-12-LOGGING")
    evidence = services.evidence_add(by=None, obligation=logging, file=SimpleUploadedFile("log.txt", b"logs"))
    obligation = Obligation.objects.get(project=registry_rows.model.project, rule_id="GDPR-6-BASIS")
    return SimpleNamespace(phone=phone, classification=retractable, obligation=obligation, evidence=evidence)


COMPLIANCE_PATHS = ("classification", "obligation", "evidence", "compliance", "/pii/")


def incident_json(c):
    return {
        "title": "Wrong denials", "description": "Claims denied in error.", "severity": "high",
        "aware_at": "2026-03-02T08:30:00Z", "projects": [c.project.slug],
    }  # fmt: skip


def incident_form(c, **changes):
    return {
        "title": "Wrong denials", "description": "Claims denied in error.", "severity": "high",
        "seriousness": "health", "aware_at": "2026-03-02T08:30", "projects": [c.project.pk], **changes,
    }  # fmt: skip


def own_notification(user):
    from governance.notifications.services import notify

    notify(
        kind="reminder", users=[user], title="Overdue", body="", url="/governance/findings/", key="m", channels=False
    )
    return user.notifications.get()


@pytest.fixture
def incident_rows(project, risk_officer, team_lead):
    """An open, not yet assessed incident on `project` with one open corrective action; and one on `project`
    that may be closed (not serious, root cause known, no open action)."""
    from governance.incidents.services import corrective_action_add, incident_open

    fields = {"description": "Claims denied in error.", "severity": "high", "projects": [project]}
    aware = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
    incident = incident_open(by=risk_officer, title="Wrong denials", aware_at=aware, **fields)
    action = corrective_action_add(by=risk_officer, incident=incident, description="Retrain", owner=team_lead,
                                   due_on=dt.date(2026, 4, 1))  # fmt: skip
    closable = incident_open(by=risk_officer, title="Slow answers", aware_at=aware, seriousness="not_serious",
                             root_cause="A cold cache.", **fields)  # fmt: skip
    return SimpleNamespace(incident=incident, action=action, closable=closable)


@pytest.fixture
def risk_rows(project, other_project):
    """A high risk of `project` with a mitigation; a second, overdue one whose finding the daily rule
    opened (assigned to its owner, not to `team_lead`); and a risk of `other_project`."""
    risk = RiskFactory(project=project, title="Model drift", category="robustness", likelihood=4, impact=4)
    mitigation = MitigationFactory(risk=risk, action="Add a drift monitor")
    overdue_risk(project=project, title="Unfair denials", likelihood=4, impact=5, owner=UserFactory(username="owner2"))
    RiskFactory(project=other_project, title="Churn data leak", category="privacy")
    risk_reviews_mark_overdue()
    return SimpleNamespace(risk=risk, mitigation=mitigation, finding=Finding.objects.get(project=project))


@pytest.fixture
def assessment_rows(project, other_project, team_lead, other_lead):
    """Version 1 of each project's tier; `project`'s is returned."""
    from governance.risks.assessments import tier_assessment_submit

    tier_assessment_submit(by=other_lead, project=other_project, answers=complete(E1="yes"))
    return tier_assessment_submit(by=team_lead, project=project, answers=complete(D1="4a", D3="yes"))


@pytest.fixture
def signoff_rows(registry_rows, assessment_rows, team_lead):
    """A pending sign-off request by `team_lead` for version 2 of the project's model (high tier)."""
    from governance.signoff.services import signoff_request

    return signoff_request(by=team_lead, version=registry_rows.version, justification="Validated on holdout.")


def is_api(path: str) -> bool:
    return path.startswith("/api/") and not path.startswith("/api/docs/")


def succeeded(method: str, path: str, status: int) -> bool:
    if method == "GET":
        return False
    return status in (OK, CREATED, ACCEPTED, GONE) if is_api(path) else status == SAVED


@pytest.mark.parametrize(("method", "path", "persona", "expected"), CASES)
def test_persona_gets_the_answer_the_matrix_gives(
    method, path, persona, expected, request, client, team, team_lead, project, other_project, registry_rows, risk_rows
):
    ctx = SimpleNamespace(team=team, team_lead=team_lead, project=project, unlinked_model=registry_rows.unlinked_model)
    ctx.risk = risk_rows.risk
    ctx.version1 = registry_rows.version1
    signoff = request.getfixturevalue("signoff_rows") if "{signoff}" in path or "/signoffs/" in path else None
    roi = request.getfixturevalue("roi_rows") if "roi" in path or "/fx-rates/" in path else None
    needs_compliance = "/datasets/{dataset}/classify/" in path or any(p in path for p in COMPLIANCE_PATHS)
    ctx.compliance = compliance = request.getfixturevalue("compliance_rows") if needs_compliance else None
    ctx.incidents = incidents = request.getfixturevalue("incident_rows") if "incident" in path else None
    url = path.format(
        project=project.slug,
        team=team.slug,
        seq=AuditEvent.objects.order_by("-seq").first().seq,
        registry=registry_rows.registry.pk,
        model=registry_rows.model.pk,
        version=registry_rows.version.pk,
        risk=risk_rows.risk.pk,
        mitigation=risk_rows.mitigation.pk,
        finding=risk_rows.finding.pk,
        assessment=request.getfixturevalue("assessment_rows").pk,
        signoff=signoff.pk if signoff else 0,
        policy=SignOffPolicy.objects.get(tier="high").pk,
        roi_entry=roi.entry.pk if roi else 0,
        fx_rate=roi.fx.pk if roi else 0,
        roi_deletion=roi.deletion.pk if roi else 0,
        deleted_entry=roi.deletion.entry_id if roi else 0,
        dataset=request.getfixturevalue("dataset_rows").pk if "/datasets/" in path else 0,
        classification=compliance.classification.pk if compliance else 0,
        obligation=compliance.obligation.pk if compliance else 0,
        evidence=compliance.evidence.pk if compliance else 0,
        incident=incidents.incident.pk if incidents else 0,
        closable_incident=incidents.closable.pk if incidents else 0,
        notification=own_notification(team_lead).pk if "{notification}" in path else 0,
        plan_item=request.getfixturevalue("plan_rows").pk if "{plan_item}" in path else 0,
        signal=request.getfixturevalue("signal_rows").pk if "{signal}" in path else 0,
    )
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(USER_FIXTURE[persona]))
    data = None if method in ("GET", "DELETE") else BODIES[method, path](ctx)
    kwargs = {"content_type": "application/json"} if is_api(path) and data is not None else {}
    events_before = AuditEvent.objects.count()

    response = client.generic(method, url) if data is None else getattr(client, method.lower())(url, data, **kwargs)

    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"] == "/login/?next=" + quote(url, safe="/")
    else:
        assert response.status_code == expected, response.content[:300]
    wrote = expected != LOGIN and succeeded(method, path, response.status_code)
    events = EVENTS.get((method, path), {}).get(persona, 1 if wrote else 0)
    assert AuditEvent.objects.count() - events_before == events


def test_a_user_without_a_role_is_told_so_on_the_home_page(client, no_role_user):
    client.force_login(no_role_user)
    response = client.get("/")
    assert response.status_code == OK
    assert "Your account has no role yet." in response.content.decode()


# --- list scoping -----------------------------------------------------------------------------------

ALL_PROJECTS = ["churn-model", "fraud-scoring"]
ALL_TEAMS = ["claims", "marketing"]
SCOPES = [
    ("executive", ALL_PROJECTS, ALL_TEAMS),
    ("risk_officer", ALL_PROJECTS, ALL_TEAMS),
    ("admin_user", ALL_PROJECTS, ALL_TEAMS),
    ("team_lead", ["fraud-scoring"], ["claims"]),
    ("other_lead", ["churn-model"], ["marketing"]),
]


@pytest.mark.parametrize(("user_fixture", "slugs", "team_slugs"), SCOPES)
def test_project_list_page_shows_only_the_projects_the_user_may_see(
    user_fixture, slugs, team_slugs, request, client, project, other_project
):
    client.force_login(request.getfixturevalue(user_fixture))
    response = client.get("/projects/")
    assert [p.slug for p in response.context["projects"]] == slugs
    # The team filter names only visible teams too.
    assert [t.slug for t in response.context["filter"].form.fields["team"].queryset] == team_slugs
    html = response.content.decode()
    assert ("Marketing" in html) == ("marketing" in team_slugs)
    assert ("Churn model" in html) == ("churn-model" in slugs)


@pytest.mark.parametrize(("user_fixture", "slugs", "team_slugs"), SCOPES)
def test_csv_export_holds_only_the_projects_the_user_may_see(
    user_fixture, slugs, team_slugs, request, client, project, other_project
):
    client.force_login(request.getfixturevalue(user_fixture))
    response = client.get("/projects/?export=csv")
    rows = csv_dicts(response)
    assert [row["slug"] for row in rows] == slugs


@pytest.mark.parametrize(("user_fixture", "slugs", "team_slugs"), SCOPES)
def test_api_lists_hold_only_the_projects_and_teams_the_user_may_see(
    user_fixture, slugs, team_slugs, request, client, project, other_project
):
    client.force_login(request.getfixturevalue(user_fixture))
    projects = client.get("/api/v1/projects/").json()
    teams = client.get("/api/v1/teams/").json()
    assert [p["slug"] for p in projects["results"]] == slugs
    assert projects["count"] == len(slugs)
    assert [t["slug"] for t in teams["results"]] == team_slugs


def test_team_lead_cannot_filter_the_api_list_by_a_team_they_cannot_see(client, team_lead, project, other_project):
    client.force_login(team_lead)
    response = client.get("/api/v1/projects/", {"team": "marketing"})
    assert response.status_code == 400
    assert response.json() == invalid_input("team", NOT_A_CHOICE)


# --- coverage: a new route or operation fails until it is classified ---------------------------------


def walk(patterns, namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, p.namespace or namespace)
        elif isinstance(p, URLPattern):
            yield (f"{namespace}:{p.name}" if namespace else p.name), p.callback


def handled_methods(callback) -> set[str]:
    if getattr(callback, "actions", None):  # a DRF viewset route: method → action
        return {m.upper() for m in callback.actions if m not in ("head", "options")}
    cls = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    methods = {m for m in cls.http_method_names if m not in ("head", "options") and hasattr(cls, m)}
    if getattr(cls, "put", None) is ProcessFormView.put:
        methods.discard("put")  # Django's FormView treats PUT as POST; POST is classified
    return {m.upper() for m in methods}


def matrix_operations() -> set[tuple[str, str]]:
    return {(resolve(path.format(**SAMPLE).split("?")[0]).view_name, method) for method, path, *_ in MATRIX}


def test_every_url_and_method_is_classified_in_the_matrix():
    routed = {
        (name, method)
        for name, callback in walk(get_resolver("config.urls").url_patterns)
        if name not in UNCLASSIFIED and not name.startswith("admin:")
        for method in handled_methods(callback)
    }
    assert routed - matrix_operations() == set(), "classify these in MATRIX"
    assert matrix_operations() - routed == set(), "these MATRIX rows name no route"


def test_every_api_schema_operation_is_classified_in_the_matrix():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {(path, method.upper()) for path, ops in schema["paths"].items() for method in ops}
    renamed = {"{project}": "{slug}", "{team}": "{slug}", "{registry}": "{id}", "{model}": "{id}", "{version}": "{id}"}
    renamed.update({"{risk}": "{id}", "{mitigation}": "{id}", "{finding}": "{id}"})
    renamed.update({"{assessment}": "{id}", "{signoff}": "{id}", "{policy}": "{id}"})
    renamed.update({"{roi_entry}": "{id}", "{fx_rate}": "{id}", "{deleted_entry}": "{entry_id}"})
    renamed.update({"{dataset}": "{id}"})
    renamed.update({"{classification}": "{id}", "{obligation}": "{id}"})
    renamed.update({"{incident}": "{id}", "{closable_incident}": "{id}"})
    renamed.update({"{signal}": "{id}"})
    classified = set()
    for method, path, *_ in MATRIX:
        if path.startswith("/api/v1/"):
            for old, new in renamed.items():
                path = path.replace(old, new)
            classified.add((path.split("?")[0], method))
    assert documented - classified == set(), "classify these in MATRIX"
    # teams 6, projects 7, audit events 2, registries 7, registered models 3, model versions 2, deployments 1
    # (+14 sign-off: signoffs 9, signoff policies 3, gate 2) (+1 portfolio summary)
    # (+14 ROI: roi entries 8, fx rates 6) (+5 lineage: ingest 1, its status 1, datasets 3)
    # (+8 compliance: classifications 4, obligations 2, evidence 2) (+9 incidents)
    # (+3 monitoring: post signals 1, list and read them 2) (+1 champion / challenger)
    assert len(documented) == 49 + 14 + 1 + 14 + 5 + 8 + 9 + 3 + 1
