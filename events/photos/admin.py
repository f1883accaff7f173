"""Admin of on-site photos: meetings with photos, and one meeting's photos as thumbnails with their metadata and
duplicate flags. Files are served by events.photos.views.photo_file (access-checked, never a public URL)."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import Button

from engage.core.roles import Capability, can
from events.pages.admin import MEETINGS_MENU_HOOK
from events.pages.models import EventPage
from events.photos.selectors import events_with_photos, photos_of_event


class StaffOnlyMixin:
    def dispatch(self, request, *args, **kwargs):
        if not can(request.user, Capability.VIEW_MEETINGS_ADMIN):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class PhotoMeetingsView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "events/photos/admin/meetings.html"
    page_title = gettext_lazy("Meeting photos")
    header_icon = "image"

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(), {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = Paginator(events_with_photos(), 50).get_page(self.request.GET.get("p"))
        context.update(page_obj=page)
        return context


class EventPhotosView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "events/photos/admin/event.html"
    header_icon = "image"

    def dispatch(self, request, *args, **kwargs):
        self.event = get_object_or_404(EventPage, pk=kwargs["event_id"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Meeting photos")

    def get_page_subtitle(self):
        return self.event.title

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(),
                {"url": reverse("event_photos_index"), "label": _("Meeting photos")},
                {"url": "", "label": self.event.title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        photos = list(photos_of_event(self.event))
        context.update(event=self.event, photos=photos, flagged=sum(1 for p in photos if p.flag_count),
                       upload_url=reverse("events:photo_upload", args=[self.event.pk]))
        return context


@hooks.register("register_admin_urls")
def register_photo_urls():
    return [
        path("meetings/photos/", PhotoMeetingsView.as_view(), name="event_photos_index"),
        path("meetings/<int:event_id>/photos/", EventPhotosView.as_view(), name="event_photos"),
    ]


class StaffMenuItem(MenuItem):
    def is_shown(self, request):
        return can(request.user, Capability.VIEW_MEETINGS_ADMIN)


@hooks.register(MEETINGS_MENU_HOOK)
def register_photos_menu_item():
    return StaffMenuItem(_("Photos"), reverse("event_photos_index"), icon_name="image", order=400)


@hooks.register("register_page_listing_more_buttons")
def event_photo_buttons(page, user, next_url=None):
    if page.specific_class is EventPage and can(user, Capability.VIEW_MEETINGS_ADMIN):
        yield Button(_("Photos"), reverse("event_photos", args=[page.pk]), icon_name="image", priority=70)
