"""Content pages outside the page tree, mounted at /content/."""

from django.contrib.sitemaps.views import sitemap
from django.urls import path

from cms.pages import views
from cms.pages.feeds import ContentFeed, ContentSitemap
from cms.reading import views as views_reading

urlpatterns = [
    path("search/", views.search, name="content_search"),
    path("feed/", ContentFeed(), name="content_feed"),
    path("images/<path:name>", views.gated_image, name="gated_image"),
    path("reading/favourite/<int:page_id>/", views_reading.favourite_toggle, name="reading_favourite_toggle"),
    path("reading/favourites/", views_reading.favourites, name="reading_favourites"),
    path("reading/history/", views_reading.history, name="reading_history"),
    path("reading/forwards/", views_reading.forwards_report, name="reading_forwards"),
    path("sitemap.xml", sitemap, {"sitemaps": {"content": ContentSitemap}}, name="content_sitemap"),
]
