"""Sections one app's page shows on behalf of another: the home page's upcoming meetings, the member page's
meetings, reading and patients. The page's app names a Wagtail hook; other apps register `fn(*, user)` under it,
returning a PageSection or None. So a lower app shows a higher one's block without importing it."""

from dataclasses import dataclass, field

from wagtail import hooks

HOME_SECTIONS_HOOK = "engage_home_sections"
MEMBER_SECTIONS_HOOK = "engage_member_sections"


@dataclass(frozen=True)
class PageSection:
    key: str
    template: str  # rendered with `section` in its context
    items: list = field(default_factory=list)
    context: dict = field(default_factory=dict)
    order: int = 100


def page_sections(hook_name: str, *, user) -> list[PageSection]:
    """The sections registered under `hook_name` that have something to show `user`, in order."""
    sections = [section for fn in hooks.get_hooks(hook_name) if (section := fn(user=user)) is not None]
    return sorted(sections, key=lambda section: (section.order, section.key))


REP_DOCTOR_ACTIONS_HOOK = "engage_rep_doctor_actions"


@dataclass(frozen=True)
class RepAction:
    """An action on the rep's doctor list offered by a higher app: `url_name` takes the doctor's user id when
    `per_doctor`, else nothing (a page-level link such as sharing or the invitations' progress)."""

    key: str
    label: str
    url_name: str
    per_doctor: bool = True
    order: int = 100


def rep_actions(*, user) -> list[RepAction]:
    """The actions registered under REP_DOCTOR_ACTIONS_HOOK (`fn(*, user) -> list[RepAction]`), in order."""
    actions = [action for fn in hooks.get_hooks(REP_DOCTOR_ACTIONS_HOOK) for action in (fn(user=user) or [])]
    return sorted(actions, key=lambda action: (action.order, action.key))
