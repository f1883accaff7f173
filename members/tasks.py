"""Celery tasks of members/: thin and idempotent; each calls one service."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def points_expire() -> int:
    """Daily (01:00 Shanghai): writes the `expire` transactions that are due; safe to run twice."""
    from members.services.points import points_expire_due

    return points_expire_due()


@shared_task(acks_late=True, ignore_result=True)
def segments_recompute_task(*, therapy_area_id: int | None = None, actor_id: int | None = None) -> None:
    """Nightly (02:30 Shanghai) and on staff request: regrades every doctor's segments; idempotent."""
    from members.models import TherapyArea, User
    from members.services.segments import segments_recompute

    area = TherapyArea.objects.filter(pk=therapy_area_id).first() if therapy_area_id else None
    if therapy_area_id and area is None:
        return  # the area was deleted after the request: nothing to grade
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    segments_recompute(therapy_area=area, actor=actor)


@shared_task(acks_late=True, ignore_result=True)
def hospital_import_validate(import_id: int) -> None:
    """Checks an uploaded hospital file row by row, reporting progress; idempotent."""
    from members.services.hospitals import hospital_import_validate as validate

    validate(import_id=import_id)


@shared_task(acks_late=True, ignore_result=True)
def hospital_import_run(import_id: int) -> None:
    """Imports a validated hospital file in one transaction; runs once per confirmation."""
    from members.services.hospitals import hospital_import_run as run

    run(import_id=import_id)
