"""The one place that decides which roles a user has. Roles are Django groups created by a migration."""

from enum import StrEnum


class Role(StrEnum):
    DOCTOR = "doctor"
    REP = "rep"
    MARKETING = "marketing"
    MEDICAL_REVIEWER = "medical_reviewer"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.MARKETING, Role.MEDICAL_REVIEWER, Role.COMPLIANCE, Role.ADMIN})
_CACHE_ATTR = "_engage_roles"


def roles_of(user) -> frozenset[Role]:
    """The roles of `user`; a superuser holds every role. Cached on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    if user.is_superuser:
        roles = frozenset(Role)
    else:
        names = set(user.groups.values_list("name", flat=True))
        roles = frozenset(role for role in Role if role.value in names)
    setattr(user, _CACHE_ATTR, roles)
    return roles


def has_role(user, *roles: Role) -> bool:
    """True when the user holds at least one of `roles`."""
    return bool(roles_of(user) & set(roles))


def is_staff_member(user) -> bool:
    """Staff roles are the ones that reach the Wagtail admin."""
    return bool(roles_of(user) & STAFF_ROLES)


def forget_roles(user) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)
