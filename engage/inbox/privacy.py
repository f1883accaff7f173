"""The in-app inbox: exported; deleted on closing (nobody can read it any more)."""

from engage.core.personal_data import Closing, iso, personal_data
from engage.inbox.models import Notification


@personal_data(section="inbox", model="core.Notification", user_fields=("user",), order=70,
               closing=Closing.DELETE)
def inbox_export(user) -> list[dict]:
    return [{"kind": n.kind, "title": n.title, "text": n.body, "link": n.url, "at": iso(n.created_at),
             "read_at": iso(n.read_at)}
            for n in Notification.objects.filter(user=user).order_by("created_at", "id")]
