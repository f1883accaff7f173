"""A page of a listing (inbox, content lists): where it stands among its pages."""

from dataclasses import dataclass


@dataclass(kw_only=True)
class PageOf:
    """Keyword-only fields, so a listing adds its own (`items`, counts) without ordering trouble."""

    page: int
    num_pages: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1
