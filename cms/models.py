"""Content models, one module per area (pages, reading, review); Django and the migrations find them here."""

from cms.pages.models import (
    AUDIENCE_LEVEL,
    ArticlePage,
    Audience,
    ContentDocumentLink,
    ContentImageLink,
    ContentPage,
    ContentPageTag,
    ContentSearchDocument,
    ContentSearchTerm,
    HomePage,
    LiteraturePage,
    Product,
    ReviewedPageMixin,
    TherapyAreaPage,
    VideoPage,
    audiences_for,
)
from cms.reading.models import Favourite, ReadingRecord, ShareCode
from cms.review.models import (
    ApprovalCodeCounter,
    ApprovalMeaning,
    ContentApproval,
    ContentExpiryNotice,
    ReviewApprovalTask,
)

__all__ = [
    "AUDIENCE_LEVEL", "ApprovalCodeCounter", "ApprovalMeaning", "ArticlePage", "Audience", "ContentApproval",
    "ContentDocumentLink", "ContentExpiryNotice", "ContentImageLink", "ContentPage", "ContentPageTag",
    "ContentSearchDocument", "ContentSearchTerm",
    "Favourite", "HomePage", "LiteraturePage", "Product", "ReadingRecord", "ReviewApprovalTask", "ReviewedPageMixin",
    "ShareCode", "TherapyAreaPage", "VideoPage", "audiences_for",
]
