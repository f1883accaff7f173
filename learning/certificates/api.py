"""Certificates API under /api/v1/learning/.

POST /certificates/{id}/revoke — `{"reason": "..."}`; REVOKE_CERTIFICATES only. 200 with the status; 400
reason_required / reason_too_long, 403 forbidden, 404 certificate_not_found, 409 already_revoked.
"""

from ninja import Router, Schema
from pydantic import Field

from engage.core.schemas import InputSchema
from learning.certificates import services

router = Router(tags=["learning"])


class RevokeIn(InputSchema):
    reason: str = Field(max_length=services.MAX_REASON * 2)


class CertificateOut(Schema):
    id: int
    status: str


@router.post("/certificates/{int:certificate_id}/revoke", response=CertificateOut, summary="Revoke a certificate")
def certificate_revoke(request, certificate_id: int, payload: RevokeIn):
    certificate = services.certificate_revoke(certificate_id=certificate_id, actor=request.user,
                                              reason=payload.reason)
    return {"id": certificate.pk, "status": certificate.status}
