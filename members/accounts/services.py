"""Writes for members: users, roles, API tokens."""

import secrets

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from wagtail.models import APIToken

from engage.audit.services import audit_log
from engage.core.errors import DomainError, NotFound
from engage.core.roles import Role, forget_roles
from members.accounts.models import User
from members.accounts.phone import normalise_mobile


def username_generate() -> str:
    return "u_" + secrets.token_hex(6)


@transaction.atomic
def role_grant(*, user: User, role: Role, actor: User | None = None, reason: str = "") -> None:
    """Adds `user` to the group of `role`; audited."""
    group = Group.objects.get(name=role.value)
    user.groups.add(group)
    forget_roles(user)
    audit_log(actor=actor, action="role.grant", obj=user, after={"role": role.value}, reason=reason)


@transaction.atomic
def api_token_create(*, user: User, name: str, actor: User | None = None) -> tuple[APIToken, str]:
    """Creates a bearer token for `user`; returns the row and the plain token, which is never stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError("invalid_token_name", "A token needs a name of 1 to 100 characters.")
    if not user.is_active:
        raise DomainError("user_inactive", "Tokens can only be created for active users.")
    token, plaintext = APIToken.create_token(user=user, name=name)
    audit_log(actor=actor or user, action="api_token.create", obj=token, after={"name": name, "user": user.pk})
    return token, plaintext


@transaction.atomic
def member_update(*, user: User, display_name: str | None = None, language: str | None = None) -> User:
    """Updates the signed-in user's own name and language."""
    before = {"display_name": user.display_name, "language": user.language}
    if display_name is not None:
        display_name = display_name.strip()
        if len(display_name) > 100:
            raise DomainError("invalid_name", "The name may have at most 100 characters.")
        user.display_name = display_name
    if language is not None:
        if language not in {"zh-hans", "en"}:
            raise DomainError("invalid_language", "Unknown language.")
        user.language = language
    user.save(update_fields=["display_name", "language"])
    audit_log(actor=user, action="member.update", obj=user, before=before,
              after={"display_name": user.display_name, "language": user.language})
    return user


def user_by_login(login: str) -> User:
    """Finds a user by username, mobile number or email (for management commands)."""
    candidates = User.objects.filter(username=login) | User.objects.filter(email__iexact=login)
    try:
        candidates = candidates | User.objects.filter(mobile=normalise_mobile(login))
    except ValidationError:  # not a phone number; the other look-ups stand
        pass
    user = candidates.first()
    if user is None:
        raise NotFound("user_not_found", f"No user {login!r}.")
    return user
