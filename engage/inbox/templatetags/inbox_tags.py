from django import template

from engage.inbox.selectors import unread_count

register = template.Library()


@register.inclusion_tag("inbox/includes/inbox_link.html", takes_context=True)
def inbox_link(context):
    """The inbox bell in the header with the unread count (signed-in people only)."""
    user = getattr(context.get("request"), "user", None) or context.get("user")
    signed_in = bool(getattr(user, "is_authenticated", False))
    return {"signed_in": signed_in, "unread": unread_count(user=user) if signed_in else 0}
