from django.db import models


class ContentDocumentLink(models.Model):
    """A document (PDF, video file) used by a published content page; the document view serves by these rows.

    Written by cms.services.content_index_page on every publish. `downloadable` is false for a literature page's
    full text whose licence does not allow downloads.
    """

    page = models.ForeignKey("cms.ContentPage", on_delete=models.CASCADE, related_name="document_links")
    document = models.ForeignKey("wagtaildocs.Document", on_delete=models.CASCADE, related_name="+")
    downloadable = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "page"], name="contentdocumentlink_unique")]

    def __str__(self):
        return f"{self.page_id} -> {self.document_id}"
