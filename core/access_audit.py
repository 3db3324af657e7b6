"""Who may do what, and who signed in: the access changes and sign-ins the audit trail records.

Role grants do not go through a Keel service: Django's admin saves a user's groups, a shell or a command
calls `user.groups.add()` or `group.user_set.remove()`, and django.contrib.auth signs people in. So they
are recorded here, from Django's signals, whichever path made them, each event in the transaction of its
write. The actor is the signed-in user of the request being served (the admin), else the system.

- a role (group) granted or revoked, in either direction of User.groups, by add, remove, set or clear;
- a model permission granted to or revoked from a user or a group (the admin honours them);
- a change of an existing account's is_active, is_staff or is_superuser (a superuser counts as Admin), a
  superuser created (`createsuperuser`: Admin from birth), an account deleted and a role group deleted
  (deletes drop their memberships without an m2m signal, so the event lists what went with them);
- a sign-in, a failed sign-in, a sign-out and a lockout (django-axes), with the client's address.

Deliberately not recorded: an API token's `last_used_at` (written on every authenticated API call; the
token's creation, scoping and revocation are audited by core.services) and a user's `last_login`
(the sign-in event says it). A failed sign-in names the account attempted; when no account has that
name the trail keeps a keyed fingerprint of it instead of the text, because the trail can never be
redacted and a username box sometimes receives a password. django-axes keeps the raw attempts in its
own, expiring table.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.utils.crypto import salted_hmac

from . import audit
from .client_address import client_address
from .context import current_actor

ACCESS_FLAGS = ("is_active", "is_staff", "is_superuser")
UNKNOWN_NAME_SALT = "keel.audit.unknown-username"


def _perm_label(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def _pairs(instance, reverse: bool, pks, *, subject_model, other_model):
    """(subject, other) rows for the changed links, whichever side `instance` is on."""
    if reverse:  # instance is the other side (a group's user_set.add(...), a permission's group_set)
        return [(s, instance) for s in subject_model.objects.filter(pk__in=pks).order_by("pk")]
    return [(instance, o) for o in other_model.objects.filter(pk__in=pks).order_by("pk")]


def _link_action(subject, *, key: str, granted: bool) -> str:
    if key == "role":
        return "user.role_granted" if granted else "user.role_revoked"
    if isinstance(subject, Group):
        return "group.permission_granted" if granted else "group.permission_revoked"
    return "user.permission_granted" if granted else "user.permission_revoked"


def _record_links(pairs, *, granted: bool, key: str, label) -> None:
    actor = current_actor()
    entries = []
    for subject, other in pairs:
        fact = {key: label(other)}
        entries.append(
            audit.entry(
                actor=actor,
                action=_link_action(subject, key=key, granted=granted),
                obj=subject,
                before=None if granted else fact,
                after=fact if granted else None,
            )
        )
    if entries:
        with transaction.atomic():
            audit.record_many(entries)


def _link_receiver(*, subject_model, other_model, forward: str, backward: str, key: str, label):
    """An m2m_changed receiver for one many-to-many that grants access (subject.forward ↔ other.backward)."""

    def receiver(sender, instance, action, reverse, model, pk_set, **kwargs):
        if action == "pre_clear":
            # clear() names no rows in its post signal: remember what is about to go.
            related = getattr(instance, backward if reverse else forward)
            instance._keel_cleared = set(related.values_list("pk", flat=True))
            return
        if action == "post_clear":
            pks = getattr(instance, "_keel_cleared", set())
            instance._keel_cleared = set()
        elif action in ("post_add", "post_remove"):
            pks = pk_set or set()  # add() leaves out links that already existed; remove() those that did not
        else:
            return
        if pks:
            pairs = _pairs(instance, reverse, pks, subject_model=subject_model, other_model=other_model)
            _record_links(pairs, granted=action == "post_add", key=key, label=label)

    return receiver


# --- account flags ---------------------------------------------------------------------------------


def _flags_before(sender, instance, raw=False, update_fields=None, **kwargs):
    """Before an existing account is saved: its stored flags, to compare after the save."""
    instance._keel_flags_before = None
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(ACCESS_FLAGS):
        return  # e.g. django.contrib.auth's last_login update on every sign-in
    instance._keel_flags_before = sender.objects.filter(pk=instance.pk).values(*ACCESS_FLAGS).first()


def _flags_after(sender, instance, created, raw=False, **kwargs):
    before = getattr(instance, "_keel_flags_before", None)
    instance._keel_flags_before = None
    if raw:
        return
    if created and instance.is_superuser:
        # A superuser is Admin from its first save. Another new account holds no role (roles are groups,
        # audited as they are granted); is_staff alone opens the admin to no model without them.
        after = {"username": instance.get_username(), **{flag: getattr(instance, flag) for flag in ACCESS_FLAGS}}
        with transaction.atomic():
            audit.record(actor=current_actor(), action="user.created", obj=instance, after=after)
        return
    if created or before is None:
        return
    old, new = audit.changes(before, {flag: getattr(instance, flag) for flag in ACCESS_FLAGS})
    if new:
        with transaction.atomic():
            audit.record(actor=current_actor(), action="user.access_changed", obj=instance, before=old, after=new)


def _before_delete(sender, instance, **kwargs):
    """What a delete takes with it, read while the memberships still exist."""
    if isinstance(instance, Group):
        instance._keel_gone = {
            "name": instance.name,
            "members": sorted(instance.user_set.values_list("username", flat=True)),
        }
    else:
        roles = sorted(instance.groups.values_list("name", flat=True))
        instance._keel_gone = {
            "username": instance.get_username(), "roles": roles, **{f: getattr(instance, f) for f in ACCESS_FLAGS}
        }  # fmt: skip


def _deleted(sender, instance, **kwargs):
    before = getattr(instance, "_keel_gone", None)
    action = "group.deleted" if isinstance(instance, Group) else "user.deleted"
    with transaction.atomic():
        audit.record(
            actor=current_actor(),
            action=action,
            object_type=instance._meta.label_lower,
            object_id=str(instance.pk),
            before=before,
        )


# --- sign-ins ---------------------------------------------------------------------------------------


def _from_http(request) -> bool:
    """A sign-in worth recording comes with an HTTP request. Django's test client's force_login (and any
    code calling login() itself) builds a bare HttpRequest with no method: no credentials were checked."""
    return request is not None and getattr(request, "method", None) is not None


def _account(username: str):
    User = get_user_model()
    if not username:
        return None
    return User.objects.filter(**{User.USERNAME_FIELD: username}).first()


def _attempted(username: str, account) -> dict:
    """How the trail names the account a failed attempt was for (see the module docstring)."""
    if account is not None:
        return {"username": account.get_username()}
    fingerprint = salted_hmac(UNKNOWN_NAME_SALT, username or "", algorithm="sha256").hexdigest()[:16]
    return {"username": None, "unknown_username": fingerprint}


def _record_sign_in_event(*, actor, action: str, account, after: dict) -> None:
    # An attempt at an account that does not exist names no row: the event says "auth.user" and no id.
    target = {"obj": account} if account is not None else {"object_type": "auth.user", "object_id": ""}
    with transaction.atomic():
        audit.record(actor=actor, action=action, after=after, **target)


def _signed_in(sender, request, user, **kwargs):
    if _from_http(request):
        after = {"address": client_address(request)}
        if method := getattr(user, "_keel_sign_in_method", None):  # set by single sign-on (core/oidc.py)
            after["method"] = method
        _record_sign_in_event(actor=user, action="user.signed_in", account=user, after=after)


def _signed_out(sender, request, user, **kwargs):
    if _from_http(request) and user is not None:
        address = client_address(request)
        _record_sign_in_event(actor=user, action="user.signed_out", account=user, after={"address": address})


def _sign_in_failed(sender, credentials, request=None, **kwargs):
    # `credentials` arrive with the password already masked by Django; only the username is read.
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or "")
    address = client_address(request) if request is not None else ""
    if not username and "code_verifier" in credentials:
        # A refused single sign-on callback (core/oidc.py): it names an account only when the provider
        # vouched for a person whose Keel account is deactivated; no text is fingerprinted.
        account = getattr(request, "_keel_refused_account", None)
        name = account.get_username() if account is not None else None
        after = {"username": name, "method": "oidc", "address": address}
        _record_sign_in_event(actor=AnonymousUser(), action="user.sign_in_failed", account=account, after=after)
        return
    account = _account(username)
    after = {**_attempted(username, account), "address": address}
    _record_sign_in_event(actor=AnonymousUser(), action="user.sign_in_failed", account=account, after=after)


def _locked_out(sender, request, username, ip_address, **kwargs):
    account = _account(username or "")
    after = {**_attempted(username or "", account), "address": ip_address or ""}
    _record_sign_in_event(actor=AnonymousUser(), action="user.locked_out", account=account, after=after)


def connect() -> None:
    """Connect the receivers (CoreConfig.ready)."""
    from axes.signals import user_locked_out

    User = get_user_model()
    links = [
        (User.groups.through, User, Group, "groups", "user_set", "role", lambda g: g.name),
        (User.user_permissions.through, User, Permission, "user_permissions", "user_set", "permission", _perm_label),
        (Group.permissions.through, Group, Permission, "permissions", "group_set", "permission", _perm_label),
    ]
    for through, subject_model, other_model, forward, backward, key, label in links:
        m2m_changed.connect(
            _link_receiver(
                subject_model=subject_model, other_model=other_model, forward=forward, backward=backward,
                key=key, label=label,
            ),
            sender=through,
            weak=False,
            dispatch_uid=f"core.access_audit.{through._meta.label_lower}",
        )  # fmt: skip
    for model in (User, Group):
        label = model._meta.model_name
        pre_delete.connect(_before_delete, sender=model, dispatch_uid=f"core.access_audit.{label}.before_delete")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"core.access_audit.{label}.deleted")
    pre_save.connect(_flags_before, sender=User, dispatch_uid="core.access_audit.flags_before")
    post_save.connect(_flags_after, sender=User, dispatch_uid="core.access_audit.flags_after")
    user_logged_in.connect(_signed_in, dispatch_uid="core.access_audit.signed_in")
    user_logged_out.connect(_signed_out, dispatch_uid="core.access_audit.signed_out")
    user_login_failed.connect(_sign_in_failed, dispatch_uid="core.access_audit.sign_in_failed")
    user_locked_out.connect(_locked_out, dispatch_uid="core.access_audit.locked_out")
