from .documents import ContentDocumentLink
from .pages import (
    AUDIENCE_LEVEL,
    ArticlePage,
    Audience,
    ContentPage,
    ContentPageTag,
    HomePage,
    LiteraturePage,
    ReviewedPageMixin,
    TherapyAreaPage,
    VideoPage,
    audiences_for,
)
from .reading import Favourite, ReadingRecord, ShareCode
from .review import ApprovalCodeCounter, ApprovalMeaning, ContentApproval, ContentExpiryNotice, ReviewApprovalTask
from .search import ContentSearchTerm
from .snippets import Product

__all__ = [
    "AUDIENCE_LEVEL", "ApprovalCodeCounter", "ApprovalMeaning", "ArticlePage", "Audience", "ContentApproval",
    "ContentDocumentLink", "ContentExpiryNotice", "ContentPage", "ContentPageTag", "ContentSearchTerm",
    "Favourite", "HomePage", "LiteraturePage", "Product", "ReadingRecord", "ReviewApprovalTask", "ReviewedPageMixin",
    "ShareCode", "TherapyAreaPage", "VideoPage", "audiences_for",
]
