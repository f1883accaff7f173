"""Points and redemptions in the personal data export. On closing, the ledger stays as it is (append-only) and
each redemption, the transfer-of-value record, stays under the pseudonym."""

from engage.core.personal_data import Closing, ClosingAccount, iso, personal_data
from members.points.models import PointsTransaction, Redemption


@personal_data(section="points_transactions", model="members.PointsAccount", user_fields=("user",), order=40,
               closing=Closing.RETAIN,
               reason="the append-only points ledger: what was earned and redeemed, kept for the transfer-of-value "
                      "report")
def points_transactions_export(user) -> list[dict]:
    return [
        {"kind": t.kind, "amount": t.amount, "balance_after": t.balance_after, "source": t.source_repr,
         "reason": t.reason, "expires_on": iso(t.expires_on), "at": iso(t.created_at)}
        for t in PointsTransaction.objects.filter(account__user=user).order_by("created_at", "id")
    ]


def _pseudonymise_redemptions(account: ClosingAccount) -> None:
    Redemption.objects.filter(account__user=account.user).update(doctor_name=account.pseudonym, licence_number="")


@personal_data(section="redemptions", model="members.Redemption", user_fields=(), order=41,
               closing=Closing.PSEUDONYMISE, close=_pseudonymise_redemptions,
               reason="transfer-of-value records (what, worth how much, when, at which hospital) are kept under "
                      "the pseudonym")
def redemptions_export(user) -> list[dict]:
    return [
        {"reward": r.reward.name, "points": r.points, "value_rmb": str(r.value_rmb), "doctor_name": r.doctor_name,
         "licence_number": r.licence_number, "hospital": r.hospital_name, "at": iso(r.created_at)}
        for r in Redemption.objects.filter(account__user=user).select_related("reward").order_by("created_at", "id")
    ]
