"""Reading records, favourites and the share code in the personal data export. On closing the reading records
stay (they are what reading credit was paid for); favourites and the share code go."""

from cms.reading.models import Favourite, ReadingRecord, ShareCode
from engage.core.personal_data import Closing, iso, personal_data


@personal_data(section="reading_records", model="cms.ReadingRecord", user_fields=("doctor",), order=50,
               closing=Closing.RETAIN, reason="the reading that academic points were paid for (ledger evidence)")
def reading_records_export(user) -> list[dict]:
    return [
        {"page": r.page.title, "started_at": iso(r.started_at), "last_seen_at": iso(r.last_seen_at),
         "active_seconds": r.active_seconds, "percent_read": r.percent, "completed_at": iso(r.completed_at)}
        for r in ReadingRecord.objects.filter(doctor=user).select_related("page").order_by("started_at", "id")
    ]


@personal_data(section="favourites", model="cms.Favourite", user_fields=("user",), order=51,
               closing=Closing.DELETE)
def favourites_export(user) -> list[dict]:
    return [{"page": f.page.title, "at": iso(f.created_at)}
            for f in Favourite.objects.filter(user=user).select_related("page").order_by("created_at", "id")]


@personal_data(section="share_code", model="cms.ShareCode", user_fields=("user",), order=52,
               closing=Closing.DELETE)
def share_code_export(user) -> dict | None:
    code = ShareCode.objects.filter(user=user).first()
    return {"code": code.code, "created_at": iso(code.created_at)} if code else None
