"""Context for the member page's profile and consents sections, so members/views.py needs no changes."""

from django import template

from members.accounts import selectors as accounts_selectors
from members.consents import selectors as consents_selectors

register = template.Library()


@register.simple_tag
def consents_overview(user):
    """Per kind of consent: policy in force, standing consent, whether it covers the policy in force."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return consents_selectors.consents_overview(user)


@register.simple_tag
def access_level(user) -> str:
    return accounts_selectors.access_level_of(user).name.lower()
