"""When a serious incident must be reported to the market surveillance authority: Art. 73 of the EU AI Act.

The rules are data (REPORTING_RULES), one row per kind of serious incident, each citing its paragraph, so
that a change of the law is a change of this table. The period runs from when the organisation became
aware of the incident (Art. 73(2)); the Act asks for the report "immediately" once a causal link is
established and *at the latest* after the period, so the deadline shown is the latest date, not a target.
An incident nobody has assessed yet is not "not serious": it gets the shortest period, marked provisional,
until someone decides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..models.incidents import Seriousness


@dataclass(frozen=True)
class ReportingRule:
    days: int
    citation: str

    def describe(self) -> str:
        return f"{self.citation}: report no later than {self.days} days after becoming aware"


REPORTING_RULES: dict[str, ReportingRule] = {
    Seriousness.DEATH: ReportingRule(10, "EU AI Act Art. 73(4) (death of a person)"),
    Seriousness.CRITICAL_INFRASTRUCTURE: ReportingRule(
        2, "EU AI Act Art. 73(3) (serious and irreversible disruption of critical infrastructure)"
    ),
    Seriousness.WIDESPREAD_INFRINGEMENT: ReportingRule(2, "EU AI Act Art. 73(3) (widespread infringement)"),
    Seriousness.HEALTH: ReportingRule(15, "EU AI Act Art. 73(2)"),
    Seriousness.FUNDAMENTAL_RIGHTS: ReportingRule(15, "EU AI Act Art. 73(2)"),
    Seriousness.PROPERTY_ENVIRONMENT: ReportingRule(15, "EU AI Act Art. 73(2)"),
}
PROVISIONAL = "Seriousness not assessed yet: the shortest period applies until it is"


@dataclass(frozen=True)
class ReportingDeadline:
    due_at: dt.datetime | None
    rule: str
    provisional: bool


def reporting_deadline(seriousness: str, aware_at: dt.datetime) -> ReportingDeadline:
    """The latest time a report is due, the rule it comes from, and whether it is provisional."""
    if seriousness == Seriousness.NOT_SERIOUS:
        return ReportingDeadline(None, "", False)
    rule = REPORTING_RULES.get(seriousness)
    if rule is None:  # not assessed (or a kind the table lacks): the strictest rule, until someone decides
        strictest = min(REPORTING_RULES.values(), key=lambda r: r.days)
        return ReportingDeadline(aware_at + dt.timedelta(days=strictest.days),
                                 f"{PROVISIONAL} ({strictest.describe()})", True)  # fmt: skip
    return ReportingDeadline(aware_at + dt.timedelta(days=rule.days), rule.describe(), False)
