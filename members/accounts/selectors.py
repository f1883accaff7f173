"""Access levels (anonymous, registered, verified doctor, KOL): every app asks `access_level_of` what a user may
see. And what the member page shows of a person's own roles."""

from enum import IntEnum

from django.db.models import Case, OuterRef, Subquery, Value, When

from engage.core.roles import ROLE_LABELS, Capability, can, roles_of
from members.profiles.models import DoctorProfile


class AccessLevel(IntEnum):
    """Ordered: each level includes the ones below it."""

    ANONYMOUS = 0
    REGISTERED = 1  # signed in, profile missing or not (yet) verified
    VERIFIED = 2  # verified doctor
    KOL = 3  # verified doctor marked as KOL / speaker


def access_level_of(user) -> AccessLevel:
    """The one rule for what a person may see of gated content; cached on the user for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return AccessLevel.ANONYMOUS
    cached = getattr(user, "_engage_access_level", None)
    if cached is not None:
        return cached
    level = DoctorProfile.objects.filter(user=user).values_list(_profile_level(), flat=True).first()
    remember_access_level(user, level)
    return user._engage_access_level


def _profile_level():
    """A signed-in person's level from their doctor profile (none: registered)."""
    verified = DoctorProfile.Status.VERIFIED
    return Case(When(status=verified, is_speaker=True, then=Value(AccessLevel.KOL.value)),
                When(status=verified, then=Value(AccessLevel.VERIFIED.value)),
                default=Value(AccessLevel.REGISTERED.value))


def access_level_expression(now=None, *, user=None):
    """`access_level_of`'s rule as a subquery: of the user row (engage.core.preload), or of `user` (an id or an
    expression naming one) in another query. NULL means registered (no doctor profile): see
    `remember_access_level`."""
    user = OuterRef("pk") if user is None else user
    return Subquery(DoctorProfile.objects.filter(user_id=user).values_list(_profile_level())[:1])


def remember_access_level(user, level: int | None) -> None:
    user._engage_access_level = AccessLevel(level if level is not None else AccessLevel.REGISTERED)


def forget_access_level(user) -> None:
    if hasattr(user, "_engage_access_level"):
        del user._engage_access_level


def member_page_flags(user) -> dict:
    """What the member page shows of the person's own roles: role labels, the doctor-profile card (doctors and
    plain members), the rep's territory links."""
    roles = roles_of(user)
    return {
        "roles": [(role.value, ROLE_LABELS[role]) for role in sorted(roles)],
        "shows_doctor_profile": not roles or can(user, Capability.EARN_POINTS),
        "shows_rep_section": can(user, Capability.COVER_TERRITORY),
    }
