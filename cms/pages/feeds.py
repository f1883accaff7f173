"""RSS feed and sitemap of the academic content, through the same gating selector as every other surface.

The feed shows what the requester may read (a feed reader is usually anonymous: public content only).
The sitemap is for search engines, which are anonymous: it lists only public content and the index pages.
"""

from django.contrib.sitemaps import Sitemap
from django.contrib.syndication.views import Feed
from django.utils.translation import gettext_lazy as _

from cms.pages.models import ContentPage, HomePage, TherapyAreaPage
from cms.pages.selectors import content_visible_to

FEED_SIZE = 30


class ContentFeed(Feed):
    title = _("Engage: new academic content")
    link = "/"
    description = _("New articles, literature and videos you may read.")

    def __call__(self, request, *args, **kwargs):
        self.request = request
        response = super().__call__(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-cache"
        return response

    def items(self):
        return list(content_visible_to(self.request.user).order_by("-first_published_at", "-pk")[:FEED_SIZE])

    def item_title(self, item: ContentPage):
        return item.title

    def item_description(self, item: ContentPage):
        return item.summary

    def item_link(self, item: ContentPage):
        return item.get_url(request=self.request)

    def item_pubdate(self, item: ContentPage):
        return item.first_published_at


class ContentSitemap(Sitemap):
    def items(self):
        public = content_visible_to(None).order_by("path")
        indexes = TherapyAreaPage.objects.live().order_by("path")
        return [*HomePage.objects.live(), *indexes, *public]

    def location(self, item):
        return item.get_url()

    def lastmod(self, item):
        return item.last_published_at
