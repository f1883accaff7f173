"""`{% ask_medical_link %}`: the "ask medical" button a rep sees on every page (it carries the page they were on)."""

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from learning.knowledge.selectors import can_ask_medical

register = template.Library()


@register.inclusion_tag("learning/knowledge/includes/ask_medical_link.html", takes_context=True)
def ask_medical_link(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or not can_ask_medical(user):
        return {"show": False}
    path = request.get_full_path()[:500]
    return {"show": True, "url": f"{reverse('learning:knowledge_ask')}?{urlencode({'from': path})}"}
