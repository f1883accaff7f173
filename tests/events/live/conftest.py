"""Fixtures of the live-session tests (live-core's are defined in core_helpers)."""

from tests.events.live.core_helpers import moderator, session, viewer  # noqa: F401 (fixtures)
