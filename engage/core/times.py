"""Times as a person reads them. Stored in UTC; shown in the active time zone: Asia/Shanghai (settings.TIME_ZONE)
unless the request activated the user's own (Wagtail's admin does, from the account's time-zone preference).

Every page, admin screen, export, message and human-readable API field formats a time through `local_text`
(or `local` when it needs the datetime), never with strftime/isoformat on a UTC value.
"""

from datetime import date, datetime

from django.utils import timezone
from django.utils.dateformat import format as date_format


def local(value: datetime) -> datetime:
    """The aware `value` in the active time zone (naive values are returned as they are: already local)."""
    return timezone.localtime(value) if timezone.is_aware(value) else value


def local_naive(value: datetime) -> datetime:
    """Local wall-clock time without a zone: what a spreadsheet cell holds (Excel knows no time zones)."""
    return local(value).replace(tzinfo=None)


def local_text(value: datetime | date | None, fmt: str = "Y-m-d H:i") -> str:
    """`value` in the active time zone, formatted with Django's date format characters; "" for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value)
        fast = _FAST.get(fmt)
        if fast is not None:
            return fast(value)
    return date_format(value, fmt)


# The formats nearly every caller uses, without Django's general formatter (≈17 → ≈4 µs): the scanner's answer and
# the audit trail's names of check-ins format two times per scan. Same text (tests/engage/core/test_local_times.py).
_FAST = {
    "Y-m-d H:i": lambda v: f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}",
    "Y-m-d H:i:s": lambda v: f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}",
}
