"""Celery tasks of segmentation: thin and idempotent; each calls one service."""

from celery import shared_task

from members.accounts.models import User
from members.hospitals.models import TherapyArea
from members.segments.services import segments_recompute


@shared_task(acks_late=True, ignore_result=True)
def segments_recompute_task(*, therapy_area_id: int | None = None, actor_id: int | None = None) -> None:
    """Nightly (02:30 Shanghai) and on staff request: regrades every doctor's segments; idempotent."""
    area = TherapyArea.objects.filter(pk=therapy_area_id).first() if therapy_area_id else None
    if therapy_area_id and area is None:
        return  # the area was deleted after the request: nothing to grade
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    segments_recompute(therapy_area=area, actor=actor)
