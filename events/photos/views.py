"""On-site photo upload from the phone (staff and reps of the meeting) and the checked view serving the files."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from engage.core.errors import DomainError, NotFound
from events.pages.models import EventPage
from events.photos.selectors import access_photo, photos_of_event
from events.photos.services import MAX_FILES_PER_UPLOAD, max_bytes, photo_thumbnail, photo_upload
from events.registrations.selectors import can_work_on_site


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def photo_upload_page(request, event_id: int):
    event = get_object_or_404(EventPage, pk=event_id)
    if not can_work_on_site(request.user, event):
        raise Http404
    if request.method == "POST":
        files = request.FILES.getlist("photos")
        if not files:
            messages.error(request, _("Choose or take at least one photo."))
        elif len(files) > MAX_FILES_PER_UPLOAD:
            messages.error(request, _("Upload at most %(n)d photos at a time.") % {"n": MAX_FILES_PER_UPLOAD})
        else:
            stored = 0
            for upload in files:
                try:
                    photo_upload(event=event, uploaded_by=request.user, file=upload,
                                 caption=request.POST.get("caption", ""))
                    stored += 1
                except DomainError as exc:
                    messages.error(request, f"{upload.name[:80]}: {exc.message}")
            if stored:
                messages.success(request, _("%(n)d photo(s) uploaded.") % {"n": stored})
        return redirect("events:photo_upload", event_id=event.pk)
    photos = photos_of_event(event).filter(uploaded_by=request.user)
    return render(request, "events/photos/upload.html", {
        "event": event, "photos": photos, "max_mb": max_bytes() // (1024 * 1024),
        "max_files": MAX_FILES_PER_UPLOAD,
    })


@login_required
@never_cache
@require_GET
def photo_file(request, photo_id: int):
    """The photo (or ?size=thumb a small JPEG) to staff and the meeting's reps only; never at a public URL."""
    try:
        photo = access_photo(user=request.user, photo_id=photo_id)
    except NotFound:
        raise Http404 from None  # no hint that the photo exists
    if request.GET.get("size") == "thumb":
        try:
            response = HttpResponse(photo_thumbnail(photo), content_type="image/jpeg")
        except (FileNotFoundError, OSError):
            raise Http404 from None
    else:
        try:
            handle = photo.image.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=photo.content_type or "application/octet-stream",
                                filename=f"photo-{photo.pk}.{photo.image.name.rsplit('.', 1)[-1]}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, no-store"
    return response
