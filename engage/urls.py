"""The project's URLs. Apps are included by dotted name: the project imports no feature app."""

from django.conf import settings
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from engage.api import api
from engage.core.health import healthz
from engage.core.views import api_not_found

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("api/v1/", api.urls),
    re_path(r"^api/", api_not_found),
    path("accounts/", include("members.accounts.urls")),  # before allauth: wraps its log-in and code views
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("members/", include("members.urls")),
    path("reminders/", include("engage.reminders.urls")),
    path("content/", include("cms.urls")),
    path("events/", include("events.urls")),
    path("live/", include("events.live.urls")),
    path("learning/", include("learning.urls")),
    path("webhooks/", include("engage.messaging.urls")),
    path("inbox/", include("engage.inbox.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns.append(path("", include(wagtail_urls)))

handler404 = "engage.core.views.page_not_found"
handler500 = "engage.core.views.server_error"
