"""PII kinds suggested from a column's name (``email``, ``iban``, ``dob``, ``phone``…), for a person to confirm.

A suggestion is never a classification: the DPO's workspace shows it beside the column and only a
person's "confirm" (governance/compliance/bulk.py) turns it into an assertion. Two sources, in order:

1. the kind a data-inventory import named for the column without applying it
   (``DatasetField.suggested_pii_kind``, governance/lineage/inventory.py);
2. the column's name, matched against the patterns below.

Each pattern is written once and used twice, by ``suggest()`` in Python and by ``name_q()`` in the
database (``iregex``), so the catalogue's "suggested" filter and the marks on each column agree. The
patterns use only syntax that Python, SQLite (Django's REGEXP) and PostgreSQL (``~*``) read alike: a
name token is delimited by the start, the end, or one of ``_ . - space`` (so ``email`` matches
``customer_email`` and ``email_hash`` but not ``emailed_at_count`` — ``emailed`` is another token).
"""

from __future__ import annotations

import re

from django.db.models import Q

from . import taxonomy

_EDGE_L = r"(^|[_. -])"
_EDGE_R = r"($|[_. -])"

# kind -> the name tokens that suggest it (alternatives of one regular expression, lower case).
TOKENS: dict[str, str] = {
    "email": r"e_?mail|email_?address|mail_?address",
    "financial": r"iban|bic|swift|account_?number|card_?number|credit_?card|pan",
    "date_of_birth": r"dob|birth_?date|date_?of_?birth|birthday|birth_?day",
    "phone": r"phone|phone_?number|msisdn|mobile|telephone|tel|fax",
    "national_id": r"ssn|national_?id|nino|passport|passport_?number|tax_?id|social_?security_?number|bsn",
    "address": r"address|street|street_?address|postcode|post_?code|zip|zip_?code|postal_?code|house_?number",
    "online_identifier": r"ip|ip_?address|ipv4|ipv6|device_?id|cookie_?id|user_?agent|mac_?address",
    "name": r"first_?name|last_?name|full_?name|middle_?name|surname|given_?name|family_?name|"
    r"customer_?name|contact_?name|person_?name|holder_?name|maiden_?name",
    "gender": r"gender|sex",
    "location": r"latitude|longitude|lat|lon|lng|geo_?location|gps",
    "health": r"diagnosis|medical|health|icd_?10|blood_?type",
    "employee_id": r"employee_?id|staff_?id|personnel_?number",
    "vehicle_id": r"vin|licen[cs]e_?plate|number_?plate",
}
# Checked in this order: the first kind whose pattern matches wins (``email_address`` is an email, not
# an address; ``ip_address`` an online identifier). A bare ``name`` (of a product, a job) suggests nothing:
# only a person's spellings do (``first_name``, ``customer_name``).
ORDER = ("email", "online_identifier", "financial", "date_of_birth", "phone", "national_id", "address",
         "health", "employee_id", "vehicle_id", "location", "gender", "name")  # fmt: skip

PATTERNS: dict[str, str] = {kind: f"{_EDGE_L}({TOKENS[kind]}){_EDGE_R}" for kind in ORDER}
_COMPILED = {kind: re.compile(pattern, re.IGNORECASE) for kind, pattern in PATTERNS.items()}
# A yes/no flag about a kind of data is not that data: ``has_phone``, ``is_email_verified`` suggest nothing.
FLAG = r"^(has|is)[_. -]"
_FLAG = re.compile(FLAG, re.IGNORECASE)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise(name: str) -> str:
    """``firstName`` → ``first_name``: camelCase split like snake_case, for the same tokens."""
    return _CAMEL.sub("_", name or "").lower()


def from_name(name: str) -> str | None:
    """The PII kind a column's name suggests, or None."""
    clean = normalise(name)
    if _FLAG.search(clean):
        return None
    for kind in ORDER:
        if _COMPILED[kind].search(clean):
            return kind
    return None


def suggest(name: str, inventory_kind: str = "") -> tuple[str, str] | None:
    """(kind, why) for a column, or None: the data inventory's kind first, then the name's."""
    if inventory_kind:
        return inventory_kind, "named in the data inventory import"
    kind = from_name(name)
    if kind is None:
        return None
    return kind, f"the column's name ({name!r}) looks like {taxonomy.KINDS[kind].label.lower()}"


def name_q(prefix: str = "") -> Q:
    """Fields (``prefix`` + name) that some pattern suggests a kind for, or that an import gave a kind.

    The database sees the raw name, not ``normalise()``'s: a camelCase ``firstName`` matches in Python
    only. The SQL side is the coarser filter; the page marks each column from ``suggest()``.
    """
    by_name = Q(**{f"{prefix}name__iregex": PATTERNS[ORDER[0]]})
    for kind in ORDER[1:]:
        by_name |= Q(**{f"{prefix}name__iregex": PATTERNS[kind]})
    by_name &= ~Q(**{f"{prefix}name__iregex": FLAG})
    return ~Q(**{f"{prefix}suggested_pii_kind": ""}) | by_name
