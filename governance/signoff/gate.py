"""The deployment gate: "may this version of this model go to this environment?"

The answer reads only the database (what the last sync saw and what reviewers decided), names every
reason when it says no, and comes with a token signed by Keel's Ed25519 key that a pipeline keeps as
evidence. Every answer is an audit event carrying the token's id (jti).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import audit
from projects.models import DeploymentObservation, ModelVersion, RegisteredModel, RiskTier, Signal
from projects.registries.selectors import registered_models_for_user

from ..models import SignOffRequest, SignOffStatus, Verdict
from . import fingerprint as fp
from . import thresholds, tokens
from .deployments import valid_approval

# Reason codes a pipeline can branch on; the message says the same for people.
UNKNOWN_MODEL = "unknown_model"
UNKNOWN_VERSION = "unknown_version"
UNKNOWN_ALIAS = "unknown_alias"
VERSION_DELETED = "version_deleted"
NOT_LINKED = "not_linked"
NOT_ASSESSED = "not_assessed"
PROHIBITED = "prohibited"
NO_SIGNOFF = "no_signoff"
SIGNOFF_PENDING = "signoff_pending"
SIGNOFF_REJECTED = "signoff_rejected"
SIGNOFF_INVALIDATED = "signoff_invalidated"
SIGNOFF_EXPIRED = "signoff_expired"
SIGNOFF_WITHDRAWN = "signoff_withdrawn"
METRIC_NOT_MET = "metric_requirement_not_met"
METRIC_UNKNOWN = "metric_unknown"


@dataclass
class GateAnswer:
    payload: dict
    token: str
    version: ModelVersion | None = None
    signoff: SignOffRequest | None = None
    reasons: list[dict] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return bool(self.payload["allowed"])


def _reason(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def _alias_holder(model: RegisteredModel, alias: str) -> ModelVersion | None:
    row = (
        DeploymentObservation.objects.filter(
            registered_model=model, signal=Signal.ALIAS, name=alias, observed_until__isnull=True
        )
        .select_related("version")
        .first()
    )
    return row.version if row else None


def _latest_request(version: ModelVersion) -> SignOffRequest | None:
    return SignOffRequest.objects.filter(model_version=version).order_by("-requested_at", "-pk").first()


def _why_not_approved(version: ModelVersion) -> dict:
    latest = _latest_request(version)
    if latest is None:
        return _reason(NO_SIGNOFF, "No sign-off was requested for this version; request one on the project page.")
    label = f"Sign-off #{latest.pk}"
    if latest.status == SignOffStatus.PENDING:
        return _reason(SIGNOFF_PENDING, f"{label} is waiting for review.")
    if latest.status == SignOffStatus.REJECTED:
        rejection = latest.decisions.filter(verdict=Verdict.REJECT).first()
        why = f": {rejection.comment}" if rejection and rejection.comment else "."
        return _reason(SIGNOFF_REJECTED, f"{label} was rejected{why}")
    if latest.status == SignOffStatus.INVALIDATED:
        return _reason(SIGNOFF_INVALIDATED, f"{label} was invalidated: {latest.status_reason}")
    if latest.status == SignOffStatus.EXPIRED:
        return _reason(SIGNOFF_EXPIRED, f"{label} expired: {latest.status_reason}")
    if latest.status == SignOffStatus.WITHDRAWN:
        return _reason(SIGNOFF_WITHDRAWN, f"{label} was withdrawn.")
    if latest.status == SignOffStatus.APPROVED and latest.valid_until is not None:
        # Past its date, but the hourly expiry rule has not recorded it yet.
        return _reason(SIGNOFF_EXPIRED, f"{label} needed re-certification by {latest.valid_until:%Y-%m-%d %H:%M} UTC.")
    return _reason(NO_SIGNOFF, f"{label} is {latest.status}; no valid sign-off covers this version.")


def _approvals(request: SignOffRequest) -> list[dict]:
    return [
        {"reviewer": d.reviewer.get_username(), "role": d.role, "decided_at": d.decided_at.isoformat(),
         "comment": d.comment}
        for d in request.decisions.filter(verdict=Verdict.APPROVE).select_related("reviewer").order_by("decided_at")
    ]  # fmt: skip


@dataclass
class _Findings:
    """What evaluating the question found: the version, its project and approval, and every reason to deny."""

    reasons: list[dict] = field(default_factory=list)
    version: ModelVersion | None = None
    project: object = None
    signoff: SignOffRequest | None = None
    fingerprint: dict | None = None


@transaction.atomic
def evaluate(
    *, user, registry: str, model: str, environment: str, version: str | None = None, alias: str | None = None
) -> GateAnswer:
    """Decide, sign and audit one gate question. Raises tokens.SigningKeyMissing when it cannot sign."""
    tokens.private_key()  # no key, no answer: fail before recording anything
    now = timezone.now()
    found = _Findings()
    found.version = _find_version(found.reasons, user=user, registry=registry, model=model, version=version,
                                  alias=alias)  # fmt: skip
    if found.version is not None:
        _check_version(found, model=model, environment=environment, now=now)
    payload = _payload(found, now=now, environment=environment, registry=registry, model=model, version=version,
                       alias=alias)  # fmt: skip
    token = tokens.sign(payload)
    mv, reasons = found.version, found.reasons
    audit.record(
        actor=user,
        action="gate.allowed" if payload["allowed"] else "gate.denied",
        object_type="projects.modelversion" if mv else "gate",
        object_id=str(mv.pk) if mv else f"{registry}/{model}",
        after={
            "jti": payload["jti"], "environment": environment, "registry": registry, "model": model,
            "version": payload["version"], "alias": alias or None, "reasons": [r["code"] for r in reasons],
            "signoff": payload["signoff"], "fingerprint_hash": payload["fingerprint_hash"],
        },
    )  # fmt: skip
    return GateAnswer(payload=payload, token=token, version=mv, signoff=found.signoff, reasons=reasons)


def _find_version(
    reasons: list[dict], *, user, registry: str, model: str, version: str | None, alias: str | None
) -> ModelVersion | None:
    """The version asked about, by number or by the alias it holds, among the models the caller may see."""
    registered = (
        registered_models_for_user(user=user)
        .filter(registry__name=registry, name=model)
        .select_related("registry", "project")
        .first()
    )
    mv = None
    if registered is None:
        # Unknown, or outside the caller's scope: the same answer, so the gate is no oracle.
        reasons.append(_reason(UNKNOWN_MODEL, f"Keel knows no model {model!r} in registry {registry!r}."))
    elif alias:
        mv = _alias_holder(registered, alias)
        if mv is None:
            reasons.append(_reason(UNKNOWN_ALIAS, f"No version of {model!r} holds the alias {alias!r}."))
    else:
        mv = registered.versions.filter(version=version).first()
        if mv is None:
            reasons.append(_reason(UNKNOWN_VERSION, f"Keel has not synced version {version!r} of {model!r}."))
    if mv is not None:
        mv.registered_model = registered
    return mv


def _check_version(found: _Findings, *, model: str, environment: str, now: dt.datetime) -> None:
    """Why this version may not go to this environment: deleted, unlinked, not assessed or prohibited (in
    any environment), and (where the environment needs approval) no valid sign-off or evidence that
    moved since."""
    mv, reasons = found.version, found.reasons
    project = found.project = mv.registered_model.project
    if mv.deleted_at is not None:
        reasons.append(_reason(VERSION_DELETED, "The registry no longer lists this version."))
    if project is None:
        reasons.append(_reason(NOT_LINKED, f"{model!r} is not linked to an AI project in Keel."))
        return
    needs_approval = environment in settings.KEEL_GATE_APPROVAL_ENVIRONMENTS
    state = fp.project_state(project)
    if not state["tier"]:
        # Not assessed (no questionnaire, or an incomplete one) is unknown, not minimal: the system might
        # be prohibited, so it is refused in every environment, as a prohibited one is.
        reasons.append(
            _reason(NOT_ASSESSED, f"{project.name} has no complete EU AI Act tier assessment; it is not assessed.")
        )
    elif state["tier"] == RiskTier.PROHIBITED:
        reasons.append(
            _reason(PROHIBITED, f"{project.name} is in the prohibited tier; it may not be deployed anywhere.")
        )
    if not needs_approval:
        return
    # The tier's metric requirements (thresholds.py): a missing value is unknown, and denies like a breach.
    for result in thresholds.version_results(mv, state["tier"]):
        if not result.met:
            code = METRIC_UNKNOWN if result.status == thresholds.UNKNOWN else METRIC_NOT_MET
            reasons.append(_reason(code, result.message))
    signoff = found.signoff = valid_approval(mv, now=now)
    if signoff is None:
        reasons.append(_why_not_approved(mv))
        return
    current = fp.compute(version=mv, project=project, policy=signoff.policy)
    # The rules invalidate on change; this catches what they have not seen yet.
    for code, message in fp.changes(signoff.fingerprint, current):
        reasons.append(_reason(code, message))
    found.fingerprint = signoff.fingerprint


def _payload(
    found: _Findings, *, now: dt.datetime, environment: str, registry: str, model: str, version: str | None,
    alias: str | None,
) -> dict:  # fmt: skip
    """The signed answer: allowed or not, every reason, and the approval (and evidence) it rests on."""
    mv, project, signoff, reasons = found.version, found.project, found.signoff, found.reasons
    allowed = not reasons
    return {
        "iss": "keel",
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(seconds=settings.KEEL_GATE_TOKEN_TTL_SECONDS)).timestamp()),
        "allowed": allowed,
        "decision": "allowed" if allowed else "denied",
        "environment": environment,
        "registry": registry,
        "model": model,
        "version": mv.version if mv else version,
        "alias": alias or None,
        "project": project.slug if project else None,
        "tier": project.risk_tier or None if project else None,
        "reasons": reasons,
        "signoff": signoff.pk if signoff else None,
        "fingerprint": found.fingerprint,
        "fingerprint_hash": signoff.fingerprint_hash if signoff else None,
        "approvals": _approvals(signoff) if signoff else [],
        "valid_until": signoff.valid_until.isoformat() if signoff and signoff.valid_until else None,
    }
