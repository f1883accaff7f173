"""`{% reading_bar page %}` (favourite, share link and the reading beacon on a content page) and
`{% continue_reading_section member %}` (the member page's unfinished reads)."""

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode

from cms.reading import selectors as selectors_reading
from cms.reading.services import completion_rule, content_share_code, share_code_text
from engage.core.errors import DomainError
from engage.core.qualification import unqualified_products
from engage.core.roles import Capability, can

register = template.Library()


@register.inclusion_tag("cms/reading/reading_bar.html", takes_context=True)
def reading_bar(context, page):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    record = getattr(request, "reading_record", None)
    share_url, not_qualified = "", []
    if record is not None:
        code = share_code_text(user=user)
        share_url = request.build_absolute_uri(f"{page.url}?{urlencode({'ref': code})}")
    elif can(user, Capability.COVER_TERRITORY):  # reps forward content to their doctors
        try:
            code = content_share_code(user=user, page_id=page.pk)[1].code
            share_url = request.build_absolute_uri(f"{page.url}?{urlencode({'ref': code})}")
        except DomainError as error:
            if error.code == "rep_not_qualified":
                not_qualified = unqualified_products(user=user, product_ids=page.products.values_list("pk", flat=True))
    points = 0
    if record is not None and record.completed_at:
        points = selectors_reading.read_points_earned(doctor=user, page_id=page.pk)
    return {
        "show": True, "page": page, "record": record, "points": points, "rule": completion_rule(page),
        "share_url": share_url, "not_qualified": not_qualified,
        "is_favourite": (record.is_favourite if hasattr(record, "is_favourite")
                         else selectors_reading.is_favourite(user=user, page=page)),
        "beacon_url": f"/api/v1/content/{page.pk}/reading",
        "beacon_every": int(getattr(settings, "READING_BEACON_SECONDS", 15)),
        "toggle_url": reverse("reading_favourite_toggle", args=[page.pk]),
        "request": request,
    }


@register.simple_tag(takes_context=True)
def share_link(context, page) -> str:
    """The page's link to share: with the signed-in reader's share code (`?ref=`), so forwarded reads count."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or not page.url:
        return ""
    if user is None or not user.is_authenticated:
        return page.url
    products = getattr(page, "products", None)
    if products is not None and unqualified_products(user=user, product_ids=products.values_list("pk", flat=True)):
        return page.url  # a rep not qualified for the page's products forwards it unattributed (rep_not_qualified)
    return f"{page.url}?{urlencode({'ref': share_code_text(user=user)})}"


@register.inclusion_tag("cms/reading/continue_reading_section.html")
def continue_reading_section(member, history_link=True):
    if member is None or not member.is_authenticated:
        return {"show": False}
    return {"show": True, "records": list(selectors_reading.continue_reading(user=member)),
            "history_link": history_link}
