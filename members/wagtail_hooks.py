"""Admin wiring for members/: each area keeps its viewsets and hooks in members/admin/<area>.py and is
imported here so Wagtail registers it."""
from .admin import (  # noqa: F401
    doctors,
    hospitals,
    points,
    segments,
    verification,
)
