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
