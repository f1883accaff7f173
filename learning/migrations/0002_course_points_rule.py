"""The points rule a doctor course pays on completion (reps never earn points: they are not points members)."""

from django.db import migrations

COURSE_COMPLETE = {"name": "完成医生课程", "points": 30, "daily_cap": 90, "yearly_cap": 900}


def forward(apps, schema_editor):
    PointsRule = apps.get_model("members", "PointsRule")
    PointsRule.objects.get_or_create(code="course_complete", defaults=COURSE_COMPLETE)


class Migration(migrations.Migration):

    dependencies = [
        ('learning', '0001_courses_questions_exams'),
        ('members', '0007_append_only'),
    ]

    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
