"""Certificates in the personal data export. On closing they stay (verification must keep answering, and they
are compliance evidence of training) with the printed name replaced by the pseudonym."""

from engage.core.personal_data import Closing, iso, personal_data
from learning.certificates.models import Certificate


@personal_data(section="certificates", model="learning.Certificate", user_fields=("user",), order=75,
               closing=Closing.PSEUDONYMISE, scrub=("holder_name",),
               reason="training certificates are compliance evidence; the printed name is pseudonymised")
def certificates_export(user) -> list[dict]:
    return [{"title": c.title, "name": c.holder_name, "code": c.code, "issued": iso(c.issued_at),
             "expires": iso(c.expires_at), "revoked": iso(c.revoked_at), "reason": c.revoke_reason}
            for c in Certificate.objects.filter(user=user).order_by("issued_at")]
