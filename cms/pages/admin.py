"""Admin of the content pages: the Product snippet, and the check in front of every document download."""

from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from cms.pages.models import Product
from cms.pages.selectors import document_readable_by
from cms.pages.views import document_range_response


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
    response = TemplateResponse(request, "cms/pages/document_gate.html", {"document": document}, status=403)
    response["Cache-Control"] = "private, no-store"
    return response
