"""Points rules of the meetings: `meeting_attend` becomes `attend_meeting` (the name the meetings issue uses) and
`meeting_survey` pays for a completed post-meeting survey. Transactions keep pointing at the same rule row.
Also: photos are stored in the private storage."""

from django.db import migrations, models

import engage.core.storage
import events.photos.models

MEETING_SURVEY = {"name": "完成会后问卷", "points": 20, "daily_cap": 60, "yearly_cap": 600}
ATTEND_MEETING = {"name": "参加学术会议", "points": 50, "daily_cap": 100, "yearly_cap": 2000}


def forward(apps, schema_editor):
    PointsRule = apps.get_model("members", "PointsRule")
    old = PointsRule.objects.filter(code="meeting_attend").first()
    if old is not None and not PointsRule.objects.filter(code="attend_meeting").exists():
        old.code = "attend_meeting"
        old.save(update_fields=["code"])
    PointsRule.objects.get_or_create(code="attend_meeting", defaults=ATTEND_MEETING)
    PointsRule.objects.get_or_create(code="meeting_survey", defaults=MEETING_SURVEY)


def backward(apps, schema_editor):
    PointsRule = apps.get_model("members", "PointsRule")
    if not PointsRule.objects.filter(code="meeting_attend").exists():
        PointsRule.objects.filter(code="attend_meeting").update(code="meeting_attend")


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial"), ("members", "0005_verification_needs_info_kind")]

    operations = [
        migrations.RunPython(forward, backward),
        # The photo storage names the private storage by callable: a storage alias string is not resolved.
        migrations.AlterField(
            model_name="photo",
            name="image",
            field=models.FileField(max_length=300, storage=engage.core.storage.private_storage,
                                   upload_to=events.photos.models.photo_path, verbose_name="image"),
        ),
    ]
