"""Consents in the personal data export; closing the account withdraws the standing ones and keeps the rows."""

from django.utils import timezone

from engage.core.personal_data import Closing, ClosingAccount, iso, personal_data
from members.consents.models import Consent


def _withdraw_all(account: ClosingAccount) -> None:
    Consent.objects.filter(user=account.user, withdrawn_at__isnull=True).update(withdrawn_at=timezone.now())


@personal_data(section="consents", model="members.Consent", user_fields=("user",), order=20,
               closing=Closing.RETAIN, close=_withdraw_all,
               reason="evidence of what was agreed to, when and how (PIPL); withdrawn on closing")
def consents_export(user) -> list[dict]:
    return [
        {
            "kind": c.kind, "policy_title": c.policy.title, "policy_version": c.policy.version,
            "method": c.method, "granted_at": iso(c.granted_at), "ip_address": c.ip_address,
            "user_agent": c.user_agent, "withdrawn_at": iso(c.withdrawn_at),
        }
        for c in Consent.objects.filter(user=user).select_related("policy").order_by("granted_at", "id")
    ]
