"""Speaker entries linked to a doctor's account: exported; on closing the entry stays on past agendas under the
pseudonym, without biography or photo."""

from engage.core.personal_data import Closing, ClosingAccount, personal_data
from events.pages.models import Speaker


def _pseudonymise(account: ClosingAccount) -> None:
    Speaker.objects.filter(doctor=account.user).update(name=account.pseudonym[:50], bio="", photo=None)


@personal_data(section="speaker_entries", model="events.Speaker", user_fields=("doctor",), order=68,
               closing=Closing.PSEUDONYMISE, close=_pseudonymise,
               reason="agendas of sponsored meetings list who spoke (speaker fees are transfer of value)")
def speakers_export(user) -> list[dict]:
    return [{"name": s.name, "hospital": s.hospital, "title": s.title, "biography": s.bio}
            for s in Speaker.objects.filter(doctor=user).order_by("id")]
