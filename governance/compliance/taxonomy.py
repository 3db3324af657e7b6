"""The PII taxonomy as code: every kind Keel knows, with its GDPR class.

A kind is personal data (GDPR Art. 4(1)), a special category (Art. 9(1)) or criminal-offence data
(Art. 10). Producers and people name kinds by code; a few common spellings are accepted as
aliases (``e-mail``, ``ssn``, ``ip_address``). A name that is neither is refused with the list of
known codes, never stored as an unknown kind: an obligation rule cannot reason about a kind it
does not know the class of.

Producer tags (OpenLineage ``tags`` facet, see lineage.md §1.2): ``pii=<kind>``,
``pii_category=<kind>``, and ``classification=PII`` (generic personal data). ``pii=true`` is the
example of the Tags proposal and also counts as generic personal data.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class GdprClass(models.TextChoices):
    PERSONAL = "personal", "Personal data (GDPR Art. 4(1))"
    SPECIAL = "special", "Special category (GDPR Art. 9(1))"
    CRIMINAL = "criminal", "Criminal-offence data (GDPR Art. 10)"


@dataclass(frozen=True)
class PIIKind:
    code: str
    label: str
    gdpr_class: str
    article: str
    # Rank for "the most sensitive kind present" (higher = more sensitive).
    sensitivity: int


def _personal(code: str, label: str, sensitivity: int = 1) -> PIIKind:
    return PIIKind(code, label, GdprClass.PERSONAL, "GDPR Art. 4(1)", sensitivity)


def _special(code: str, label: str) -> PIIKind:
    return PIIKind(code, label, GdprClass.SPECIAL, "GDPR Art. 9(1)", 3)


GENERIC = "personal_data"

KINDS: dict[str, PIIKind] = {
    k.code: k
    for k in (
        _personal(GENERIC, "Personal data (unspecified)"),
        _personal("name", "Person's name"),
        _personal("email", "Email address"),
        _personal("phone", "Phone number"),
        _personal("address", "Postal address"),
        _personal("date_of_birth", "Date of birth"),
        _personal("age", "Age"),
        _personal("gender", "Gender"),
        _personal("national_id", "National identifier (SSN, NINO, passport, driving licence)", 2),
        _personal("financial", "Financial account (IBAN, card number)", 2),
        _personal("location", "Precise location", 2),
        _personal("online_identifier", "Online identifier (IP address, cookie, device id)"),
        _personal("vehicle_id", "Vehicle identifier"),
        _personal("employee_id", "Employee identifier"),
        _personal("free_text", "Free text about a person"),
        _special("health", "Health data (Art. 4(15))"),
        _special("genetic", "Genetic data (Art. 4(13))"),
        _special("biometric", "Biometric data for unique identification (Art. 4(14))"),
        _special("racial_ethnic_origin", "Racial or ethnic origin"),
        _special("political_opinion", "Political opinions"),
        _special("religious_belief", "Religious or philosophical beliefs"),
        _special("trade_union", "Trade-union membership"),
        _special("sex_life_orientation", "Sex life or sexual orientation"),
        PIIKind("criminal_offence", "Criminal convictions and offences", GdprClass.CRIMINAL, "GDPR Art. 10", 3),
    )
}

ALIASES: dict[str, str] = {
    "pii": GENERIC,
    "personal": GENERIC,
    "true": GENERIC,
    "yes": GENERIC,
    "person_name": "name",
    "full_name": "name",
    "first_name": "name",
    "last_name": "name",
    "e_mail": "email",
    "email_address": "email",
    "phone_number": "phone",
    "telephone": "phone",
    "postal_address": "address",
    "street_address": "address",
    "dob": "date_of_birth",
    "birth_date": "date_of_birth",
    "ssn": "national_id",
    "passport": "national_id",
    "tax_id": "national_id",
    "iban": "financial",
    "credit_card": "financial",
    "financial_account": "financial",
    "geolocation": "location",
    "precise_location": "location",
    "ip_address": "online_identifier",
    "online_id": "online_identifier",
    "device_id": "online_identifier",
    "race_ethnicity": "racial_ethnic_origin",
    "ethnicity": "racial_ethnic_origin",
    "political": "political_opinion",
    "religion": "religious_belief",
    "sexual_orientation": "sex_life_orientation",
    "criminal": "criminal_offence",
}

CHOICES = [(k.code, k.label) for k in KINDS.values()]
# The tag keys that carry PII (lineage.md §1.2); any other tag key is not about PII.
PII_TAG_KEYS = ("pii", "pii_category", "classification")

UNKNOWN_KIND = "Unknown PII kind {value!r}. Known kinds: {known}."


class UnknownPIIKind(ValueError):
    """A name that is no kind of the taxonomy (nor an alias of one)."""

    def __init__(self, value):
        self.value = value
        super().__init__(UNKNOWN_KIND.format(value=value, known=", ".join(KINDS)))


def _clean(value) -> str:
    return str(value).strip().lower().replace("-", "_").replace(" ", "_").replace(".", "_")


def resolve(value) -> str:
    """The kind's code for a code or an alias; raises UnknownPIIKind for anything else."""
    code = _clean(value) if value is not None else ""
    code = ALIASES.get(code, code)
    if code not in KINDS:
        raise UnknownPIIKind(value)
    return code


def get(code: str) -> PIIKind:
    return KINDS[resolve(code)]


def gdpr_class(code: str) -> str:
    return get(code).gdpr_class


def is_special(code: str) -> bool:
    return gdpr_class(code) == GdprClass.SPECIAL


def is_criminal(code: str) -> bool:
    return gdpr_class(code) == GdprClass.CRIMINAL


def kind_from_tag(key, value) -> str | None:
    """The PII kind a producer's tag asserts, None for a tag that is not about PII.

    ``classification`` tags other than ``PII`` (e.g. ``classification=internal``) are not PII
    assertions; ``pii`` and ``pii_category`` tags must name a known kind (or true/yes).
    Raises UnknownPIIKind for a PII tag whose kind is unknown.
    """
    key = _clean(key or "")
    if key not in PII_TAG_KEYS:
        return None
    if key == "classification":
        if _clean(value or "") in ("pii", "personal_data", "personal"):
            return GENERIC
        if _clean(value or "").startswith("pii_"):  # classification=PII.email style
            return resolve(_clean(value)[4:])
        return None
    if isinstance(value, bool):
        if not value:
            return None
        return GENERIC
    if _clean(value or "") in ("false", "no", "none", ""):
        return None
    return resolve(value)


def tags_of(facets: dict | None) -> list[dict]:
    """The tag entries of a dataset's facets (``tags.tags``), tolerating odd shapes."""
    tags = ((facets or {}).get("tags") or {}).get("tags") if isinstance(facets, dict) else None
    if not isinstance(tags, list):
        return []
    return [t for t in tags if isinstance(t, dict)]


def producer_assertions(facets: dict | None) -> set[tuple[str, str]]:
    """(field name or "" for the dataset, kind) for every PII tag in a dataset's facets.

    Raises UnknownPIIKind for the first PII tag that names an unknown kind, so a caller that
    validates an event before storing it can refuse the event as a whole.
    """
    out = set()
    for tag in tags_of(facets):
        kind = kind_from_tag(tag.get("key"), tag.get("value"))
        if kind is not None:
            out.add((str(tag.get("field") or ""), kind))
    return out


def event_pii_errors(event: dict) -> list[str]:
    """Every unknown PII kind in a raw OpenLineage event's dataset tags, as messages (empty = fine).

    For the ingest endpoint's validation: an event asserting a kind Keel does not know is refused
    with a 400 that names it, and nothing of it is stored.
    """
    datasets = []
    if isinstance(event, dict):
        for key in ("inputs", "outputs"):
            datasets += [d for d in event.get(key) or () if isinstance(d, dict)]
        if isinstance(event.get("dataset"), dict):
            datasets.append(event["dataset"])
    errors = []
    for ds in datasets:
        for tag in tags_of(ds.get("facets")):
            try:
                kind_from_tag(tag.get("key"), tag.get("value"))
            except UnknownPIIKind as exc:
                where = f"{ds.get('namespace')}/{ds.get('name')}" + (f".{tag['field']}" if tag.get("field") else "")
                errors.append(f"{where}: {exc}")
    return errors
