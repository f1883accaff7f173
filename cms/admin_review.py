"""The content dashboard panel on the Wagtail admin home: in review, approved, expiring soon, expired."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.components import Component

from cms.selectors import content_review_dashboard
from engage.roles import is_staff_member


class ContentReviewPanel(Component):
    name = "content_review"
    order = 90
    template_name = "cms/admin/content_review_panel.html"

    def get_context_data(self, parent_context):
        data = content_review_dashboard()
        return {
            "counts": data["counts"],
            "expiring": list(data["expiring"][:10]),
            "in_review": list(data["in_review"][:10]),
            "most_read": data["most_read"],
            "title": _("Content review"),
        }


@hooks.register("construct_homepage_panels")
def add_content_review_panel(request, panels):
    if is_staff_member(request.user):
        panels.append(ContentReviewPanel())
