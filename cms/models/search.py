from django.db import models


class ContentSearchTerm(models.Model):
    """One segmented term of a live content page with its weight: the inverted index behind Chinese search.

    Built by cms.services.content_index_page from the page's title, summary and body segmented with jieba.
    The same table and query serve SQLite and PostgreSQL, so ranking does not depend on the database.
    """

    page = models.ForeignKey("cms.ContentPage", on_delete=models.CASCADE, related_name="search_terms")
    term = models.CharField(max_length=64)
    weight = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["term", "page"], name="contentsearchterm_unique")]

    def __str__(self):
        return f"{self.term} ({self.weight:.2f})"
