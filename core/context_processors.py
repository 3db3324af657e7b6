from .roles import Role, user_roles


def roles(request):
    """Lets templates show only the navigation a persona may use."""
    held = user_roles(getattr(request, "user", None))
    return {
        "user_roles": sorted(held),
        "is_admin": Role.ADMIN in held,
        "can_read_audit": bool(held & {Role.RISK_OFFICER, Role.COMPLIANCE, Role.ADMIN}),
        "can_create_project": bool(held & {Role.TEAM_LEAD, Role.ADMIN}),
    }
