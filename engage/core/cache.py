"""The cache may go away (Redis down): reads then miss and go to the database; the outage is logged once.

The default cache is django-redis with IGNORE_EXCEPTIONS (engage.settings.base): a failed get is a miss, a failed set
or add is a no-op returning a false value. Whatever needs the cache to be *right* fails closed on that false value:
allauth's rate-limit lock is never taken, so the sign-in answers 429; a WeChat callback's nonce is never remembered,
so the callback answers 403 and WeChat retries.
"""

import logging
import time


class OncePerOutage(logging.Filter):
    """Lets one record through per `interval` seconds per process: one line per outage, not one per request."""

    def __init__(self, interval: float = 300.0):
        super().__init__()
        self.interval = interval
        self._last = float("-inf")

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self._last < self.interval:
            return False
        self._last = now
        record.msg = f"cache unreachable ({record.exc_info[1] if record.exc_info else 'unknown'}): pages are served " \
                     "without it (repeats within %ds are not logged)"
        record.args = (int(self.interval),)
        record.exc_info, record.exc_text = None, None  # the cause is in the message; no traceback per outage
        return True
