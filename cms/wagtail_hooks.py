"""Admin wiring of the content app and the check in front of every document download."""

from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from cms.models import Product
from cms.selectors import document_readable_by
from cms.views import document_range_response


class ProductViewSet(SnippetViewSet):
    model = Product
    icon = "pick"
    menu_label = _("Products")
    list_display = ["name", "generic_name", "therapy_area", "approval_number"]


register_snippet(ProductViewSet)


@hooks.register("before_serve_document")
def check_document_access(document, request):
    """PDFs and videos are served only to people who may read a page that uses them."""
    if document_readable_by(user=request.user, document=document):
        return document_range_response(request, document)  # None: Wagtail sends the whole file
    response = TemplateResponse(request, "cms/document_gate.html", {"document": document}, status=403)
    response["Cache-Control"] = "private, no-store"
    return response


@hooks.register("before_publish_page")
def refuse_unapproved_publish(request, page):
    """Direct publishing from the editor: only a revision approved by medical and compliance review goes live."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from cms.models import ReviewedPageMixin
    from cms.services_review import REQUIRED_MEANINGS, revision_approvals

    if not isinstance(page.specific, ReviewedPageMixin):  # content and meeting pages
        return None
    revision = page.get_latest_revision()
    if revision is not None and REQUIRED_MEANINGS <= revision_approvals(revision):
        return None
    messages.error(request, _("This version has not been approved by medical and compliance review; "
                              "submit it for review instead of publishing it."))
    return redirect("wagtailadmin_pages:edit", page.pk)


from cms import admin_review  # noqa: E402,F401  the content dashboard panel
