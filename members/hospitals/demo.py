"""Demo territories for `manage.py seed_demo`: each of the 10 demo reps covers two of the 20 demo hospitals.

Idempotent: territories are keyed by code; missing territories and links are added, nothing is changed or removed.
"""

from django.db import transaction

from engage.core.demo import demo_seeder
from members.accounts import demo as demo_data
from members.accounts.models import User
from members.hospitals.models import Hospital, Territory


@transaction.atomic
@demo_seeder(order=60)
def seed_demo_territories() -> dict[str, int]:
    """Creates `demo-territory-01` … `-10`; territory n has demo rep n and hospitals 2n-1 and 2n of the demo list.
    Returns what it created. Reps or hospitals that are missing (skipped by seed_demo) are left out."""
    reps = {u.username: u for u in User.objects.filter(username__in=[s.username for s in demo_data.rep_specs()])}
    wanted_keys = [(Hospital.normalise(spec.name), spec.city) for spec in demo_data.HOSPITALS]
    found = {(h.normalised_name, h.city): h for h in Hospital.objects.filter(
        normalised_name__in=[key[0] for key in wanted_keys])}
    hospitals = [found.get(key) for key in wanted_keys]
    created = {"territories": 0, "territory reps": 0, "territory hospitals": 0, "hospital pinyin": 0}
    # seed_demo bulk-creates hospitals (no save()), which leaves their pinyin initials empty: search needs them.
    for hospital in Hospital.objects.filter(pinyin_initials=""):
        hospital.save(update_fields=["pinyin_initials"])
        created["hospital pinyin"] += 1
    for number, spec in enumerate(demo_data.rep_specs(), start=1):
        territory, made = Territory.objects.get_or_create(
            code=f"demo-territory-{number:02d}",
            defaults={"name": f"示例辖区 {number:02d}"},
        )
        created["territories"] += int(made)
        rep = reps.get(spec.username)
        if rep is not None and not territory.reps.filter(pk=rep.pk).exists():
            territory.reps.add(rep)
            created["territory reps"] += 1
        for hospital in hospitals[2 * (number - 1):2 * number]:
            if hospital is not None and not territory.hospitals.filter(pk=hospital.pk).exists():
                territory.hospitals.add(hospital)
                created["territory hospitals"] += 1
    return created
