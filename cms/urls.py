"""Content pages outside the page tree, mounted at /content/."""

from django.contrib.sitemaps.views import sitemap
from django.urls import path

from . import views
from .feeds import ContentFeed, ContentSitemap

urlpatterns = [
    path("search/", views.search, name="content_search"),
    path("feed/", ContentFeed(), name="content_feed"),
    path("sitemap.xml", sitemap, {"sitemaps": {"content": ContentSitemap}}, name="content_sitemap"),
]
