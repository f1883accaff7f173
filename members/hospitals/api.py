"""GET /api/v1/hospitals: the hospital picker's search, for any signed-in user."""

from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema
from pydantic import Field

from members.hospitals import selectors

hospitals_router = Router(tags=["hospitals"])


class HospitalQuery(Schema):
    q: str = Field(default="", max_length=selectors.HOSPITAL_QUERY_MAX,
                   description="Part of the name or an alias, pinyin initials (bjxh), or a city")
    city: str | None = Field(default=None, max_length=50, description="Only hospitals in this city")
    limit: int = Field(default=20, ge=1, le=50)


class DepartmentOut(Schema):
    id: int
    name: str
    name_en: str


class HospitalOut(Schema):
    id: int
    name: str
    city: str
    province: str
    district: str
    level_grade: str
    departments: list[DepartmentOut]


@hospitals_router.get("", response=list[HospitalOut],
                      summary=str(_("Search active hospitals by name, alias, pinyin initials or city")))
def hospital_list(request, filters: Query[HospitalQuery]):
    hospitals = selectors.hospital_search(q=filters.q, city=filters.city, limit=filters.limit)
    return [
        {
            "id": h.pk, "name": h.name, "city": h.city, "province": h.province, "district": h.district,
            "level_grade": h.level_grade,
            "departments": [{"id": d.pk, "name": d.name, "name_en": d.name_en} for d in h.departments.all()],
        }
        for h in hospitals
    ]
