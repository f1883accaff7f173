"""Site search: parses the query string, asks the selector, renders. Never a 500 for odd input."""

import mimetypes
import re

from django.http import FileResponse, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from cms.pages import selectors
from cms.pages.models import TherapyAreaPage
from engage.core.errors import DomainError


@require_GET
def search(request):
    content_filter = selectors.ContentFilter.from_query(request.GET)
    listing = selectors.content_list(user=request.user, content_filter=content_filter)
    areas = TherapyAreaPage.objects.live().select_related("therapy_area").order_by("path")
    response = TemplateResponse(
        request, "cms/pages/search.html", {"filter": content_filter, "listing": listing, "areas": areas}
    )
    response["Cache-Control"] = "private, no-cache"
    return response


@require_GET
def gated_image(request, name: str):
    """An image file (original or rendition) of an image a page above anonymous shows, for those who may read such
    a page (cms.pages.selectors.access_image_file). Its storage writes these files outside MEDIA_ROOT."""
    from django.core.files.storage import default_storage

    try:
        selectors.access_image_file(user=request.user, name=name)
    except DomainError as error:
        response = HttpResponse(str(error.message), status=error.status, content_type="text/plain; charset=utf-8")
    else:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
        response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600" if response.status_code == 200 else "private, no-store"
    return response


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Wagtail's hook must answer with an HttpResponse (not a streaming one): a range answer holds at most this many
# bytes, and players ask for the next range themselves (RFC 9110 lets a server send less than an open range).
RANGE_MAX = 2 * 1024 * 1024


def document_range_response(request, document) -> HttpResponse | None:
    """A 206 answer to a single `Range: bytes=a-b` request for a document the caller may already read.

    Wagtail's document view sends whole files; phones (iOS Safari and the WeChat webview) need byte ranges to
    play and seek an MP4. Returns None when the request has no Range header (Wagtail serves the whole file).
    """
    header = request.headers.get("Range", "")
    if not header:
        return None
    size = document.file.size
    match = _RANGE.match(header.strip())
    if not match or (not match[1] and not match[2]):
        return _unsatisfiable(size)
    if match[1]:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    else:  # a suffix: the last N bytes
        start, end = max(size - int(match[2]), 0), size - 1
    if start >= size or start > end:
        return _unsatisfiable(size)
    end = min(end, start + RANGE_MAX - 1)
    with document.file.open("rb") as handle:
        handle.seek(start)
        data = handle.read(end - start + 1)
    content_type = mimetypes.guess_type(document.file.name)[0] or "application/octet-stream"
    response = HttpResponse(data, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    return response


def _unsatisfiable(size: int) -> HttpResponse:
    response = HttpResponse(status=416)
    response["Content-Range"] = f"bytes */{size}"
    return response
