from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from pydantic import Field

from engage.roles import roles_of
from engage.schemas import InputSchema

from . import services

router = Router(tags=["members"])


class MemberOut(Schema):
    id: int
    username: str
    display_name: str
    mobile: str | None
    email: str | None
    language: str
    roles: list[str]


class MemberPatch(InputSchema):
    display_name: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, pattern=r"^(zh-hans|en)$")


def _member_out(user) -> dict:
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "mobile": user.mobile,
        "email": user.email,
        "language": user.language,
        "roles": sorted(role.value for role in roles_of(user)),
    }


@router.get("/me", response=MemberOut, summary=str(_("The signed-in member")))
def me(request):
    return _member_out(request.user)


@router.patch("/me", response=MemberOut, summary=str(_("Update the signed-in member's name or language")))
def me_update(request, data: MemberPatch):
    user = services.member_update(user=request.user, display_name=data.display_name, language=data.language)
    return _member_out(user)
