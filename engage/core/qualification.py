"""Product qualification: may this person promote these products? Asked by the places a rep promotes (meeting
invitations in events, content sharing in cms); answered by the e-learning app (certificates), which registers
its checker at ready(). Lower layers ask here and never import learning (DESIGN.md, Layout).

    from engage.core.qualification import qualification_require
    qualification_require(user=rep, product_ids=[3, 7])   # raises DomainError("rep_not_qualified", …)

Without a registered checker everyone is qualified (the platform runs without the e-learning app).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from engage.core.errors import PermissionDenied


@dataclass(frozen=True)
class Missing:
    """A product the user may not promote yet, and the course that qualifies them."""

    product_id: int
    product: str  # the product's name, for the message
    course_title: str
    course_url: str


# checker(user, product_ids) -> the products among them (all products when None) the user is not qualified for;
# applies(user) -> whether qualification binds the user at all (asked first: no product list is read otherwise)
Checker = Callable[[object, list[int] | None], list[Missing]]
Applies = Callable[[object], bool]
_checkers: list[tuple[Checker, Applies]] = []


def register_checker(checker: Checker, *, applies: Applies) -> None:
    """Called by the app that knows qualifications, in its AppConfig.ready(); registering twice is harmless."""
    if all(registered is not checker for registered, _ in _checkers):
        _checkers.append((checker, applies))


def unqualified_products(*, user, product_ids: Iterable[int]) -> list[Missing]:
    """The products among `product_ids` that `user` is not qualified to promote (empty: qualified for all).
    Read fresh on every call, so a certificate that lapses or is revoked takes effect at once. `product_ids` may
    be a queryset: it is read only when qualification binds `user`."""
    checkers = [checker for checker, applies in _checkers if user is not None and applies(user)]
    if not checkers:
        return []
    ids = sorted({int(pk) for pk in product_ids if pk is not None})
    if not ids:
        return []
    missing: list[Missing] = []
    for checker in checkers:
        missing.extend(checker(user, ids))
    return missing


def qualification_gaps(*, user) -> list[Missing]:
    """Every product `user` may not promote yet (for the rep's doctor list and meeting pages)."""
    if user is None:
        return []
    missing: list[Missing] = []
    for checker, applies in _checkers:
        if applies(user):
            missing.extend(checker(user, None))
    return missing


def not_qualified_error(missing: list[Missing]) -> PermissionDenied:
    first = missing[0]
    names = "、".join(item.product for item in missing)
    message = _("You are not qualified to promote %(products)s yet: complete the course “%(course)s” and hold a "
                "current certificate first.") % {"products": names, "course": first.course_title}
    return PermissionDenied("rep_not_qualified", message, course_url=first.course_url,
                            products=[item.product for item in missing])


def qualification_require(*, user, product_ids: Iterable[int]) -> None:
    """Raises PermissionDenied `rep_not_qualified` (with `course_url` and `products`) unless `user` is qualified
    for every product in `product_ids`."""
    missing = unqualified_products(user=user, product_ids=product_ids)
    if missing:
        raise not_qualified_error(missing)
