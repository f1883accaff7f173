from .documents import ContentDocumentLink
from .pages import (
    AUDIENCE_LEVEL,
    ArticlePage,
    Audience,
    ContentPage,
    ContentPageTag,
    HomePage,
    LiteraturePage,
    TherapyAreaPage,
    VideoPage,
    audiences_for,
)
from .search import ContentSearchTerm
from .snippets import Product

__all__ = [
    "AUDIENCE_LEVEL", "ArticlePage", "Audience", "ContentDocumentLink",
    "ContentPage", "ContentPageTag", "ContentSearchTerm", "HomePage",
    "LiteraturePage", "Product", "TherapyAreaPage", "VideoPage", "audiences_for",
]
