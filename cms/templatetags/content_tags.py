"""Template filters of the content pages."""

from django import template
from django.utils.safestring import mark_safe

from cms.pages.richtext import clean_rich_text

register = template.Library()


@register.filter
def safe_richtext(value) -> str:
    """Stored rich text for a reader: expanded and whitelisted (cms.pages.richtext)."""
    return mark_safe(clean_rich_text(value))  # noqa: S308 - whitelisted by clean_rich_text
