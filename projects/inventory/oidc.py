"""Team leadership from the sign-in provider: KEEL_OIDC_TEAM_LEAD_MAP maps a provider group to a team
(by slug). Kept beside teams so that core's sign-in (core/oidc.py) needs nothing of projects."""

from __future__ import annotations

import logging

from django.conf import settings

from core.oidc import OIDCBackend as CoreOIDCBackend
from core.roles import Role

from ..models import Team
from .services import team_leads_sync

logger = logging.getLogger(__name__)


class OIDCBackend(CoreOIDCBackend):
    """core's OIDC sign-in, plus team leadership re-evaluated at every sign-in like the roles."""

    def led_teams(self, claims) -> set[str]:
        mapping = settings.KEEL_OIDC_TEAM_LEAD_MAP
        return {mapping[group] for group in self.groups(claims) if group in mapping}

    def roles_from_claims(self, claims) -> set[str]:
        # Leading a team needs the Team Lead role: a group that names a team gives it too.
        roles = super().roles_from_claims(claims)
        return (roles | {Role.TEAM_LEAD.value}) if self.led_teams(claims) else roles

    def sync_access(self, user, claims) -> None:
        super().sync_access(user, claims)
        managed = set(settings.KEEL_OIDC_TEAM_LEAD_MAP.values())
        missing = managed - set(Team.objects.filter(slug__in=managed).values_list("slug", flat=True))
        if missing:
            logger.warning("KEEL_OIDC_TEAM_LEAD_MAP names teams Keel does not have: %s", ", ".join(sorted(missing)))
        team_leads_sync(user=user, led=self.led_teams(claims), managed=managed)
