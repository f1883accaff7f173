"""Admin of the review: the content dashboard panel on the Wagtail admin home (in review, approved, expiring soon,
expired), and the guard that refuses publishing an unapproved revision from the editor."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.components import Component
from wagtail.models import TaskState

from cms.pages.models import ReviewedPageMixin
from cms.review.models import REVIEWED_PARAM
from cms.review.selectors import content_review_dashboard
from cms.review.services import REQUIRED_MEANINGS, revision_approvals
from engage.core.roles import Capability, can


class ContentReviewPanel(Component):
    name = "content_review"
    order = 90
    template_name = "cms/review/admin/dashboard_panel.html"

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
def announce_review_action(request, panels):
    """After approving or requesting changes the reviewer lands here (see review_landing_url): say what happened."""
    task_state_id = request.GET.get(REVIEWED_PARAM, "")
    if not task_state_id.isdigit() or len(task_state_id) > 12:
        return
    state = TaskState.objects.filter(pk=int(task_state_id), finished_by=request.user).select_related("revision").first()
    if state is None:
        return
    title = str(state.revision.object_str) if state.revision else ""
    if state.status == TaskState.STATUS_APPROVED:
        messages.success(request, _("Approved: “%(title)s”. It moves on to the next review step or goes live.")
                         % {"title": title})
    elif state.status == TaskState.STATUS_REJECTED:
        messages.success(request, _("Changes requested: “%(title)s” goes back to its author.") % {"title": title})


@hooks.register("construct_homepage_panels")
def add_content_review_panel(request, panels):
    if can(request.user, Capability.VIEW_CONTENT_REPORTS):
        panels.append(ContentReviewPanel())


@hooks.register("before_publish_page")
def refuse_unapproved_publish(request, page):
    """Direct publishing from the editor: only a revision approved by medical and compliance review goes live."""
    if not isinstance(page.specific, ReviewedPageMixin):  # content and meeting pages
        return None
    revision = page.get_latest_revision()
    if revision is not None and REQUIRED_MEANINGS <= revision_approvals(revision):
        return None
    messages.error(request, _("This version has not been approved by medical and compliance review; "
                              "submit it for review instead of publishing it."))
    return redirect("wagtailadmin_pages:edit", page.pk)
