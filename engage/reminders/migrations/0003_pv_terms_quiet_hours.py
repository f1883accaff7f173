"""Issue 12 (pharmacovigilance and quiet hours): the editable adverse-event term list with its defaults; cases carry
their programme, medication, reporter, seriousness, receipt time and review deadline; quiet hours move from each
patient to the programme (default 22:00–07:00)."""

import datetime

import django.db.models.deletion
from django.db import migrations, models

from engage.reminders.models import DEFAULT_PV_TERMS

FIRST_REVIEW = datetime.timedelta(hours=24)


def seed_terms(apps, schema_editor):
    Term = apps.get_model("reminders", "AdverseEventTerm")
    existing = set(Term.objects.values_list("term", flat=True))
    Term.objects.bulk_create([Term(term=t, language=lang, synonyms=syn, serious=serious)
                              for t, lang, syn, serious in DEFAULT_PV_TERMS if t not in existing])


def backfill_cases(apps, schema_editor):
    Case = apps.get_model("reminders", "PharmacovigilanceCase")
    for case in Case.objects.select_related("patient").filter(programme__isnull=True):
        case.programme_id = case.patient.programme_id
        case.received_at = case.created_at
        case.review_due_at = case.created_at + FIRST_REVIEW
        case.save(update_fields=["programme", "received_at", "review_due_at"])


class Migration(migrations.Migration):

    dependencies = [
        ("reminders", "0002_dose_claim_index_by_due_and_id"),
    ]

    operations = [
        migrations.CreateModel(
            name="AdverseEventTerm",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("term", models.CharField(max_length=100, unique=True, verbose_name="term")),
                ("language", models.CharField(choices=[("zh-hans", "简体中文"), ("en", "English")], default="zh-hans",
                                              max_length=10, verbose_name="language")),
                ("synonyms", models.TextField(blank=True, help_text="Other ways people say it, separated by commas or new lines (e.g. 起疹子, 出疹子).", verbose_name="synonyms")),
                ("serious", models.BooleanField(default=False, help_text="Cases with this term are flagged for review first.", verbose_name="possibly serious")),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "adverse event term",
                "verbose_name_plural": "adverse event terms",
                "ordering": ["language", "term"],
            },
        ),
        migrations.RunPython(seed_terms, migrations.RunPython.noop),
        migrations.RemoveField(model_name="patient", name="quiet_start"),
        migrations.RemoveField(model_name="patient", name="quiet_end"),
        migrations.AddField(
            model_name="programme",
            name="quiet_start",
            field=models.TimeField(blank=True, default=datetime.time(22, 0), help_text="Local time from which no follow-up or escalation is sent.", null=True, verbose_name="quiet hours from"),
        ),
        migrations.AddField(
            model_name="programme",
            name="quiet_end",
            field=models.TimeField(blank=True, default=datetime.time(7, 0), help_text="Local time at which follow-ups and escalations resume.", null=True, verbose_name="quiet hours until"),
        ),
        migrations.AddConstraint(
            model_name="programme",
            constraint=models.CheckConstraint(
                condition=models.Q(models.Q(("quiet_end__isnull", True), ("quiet_start__isnull", True)),
                                   models.Q(("quiet_end__isnull", False), ("quiet_start__isnull", False)),
                                   _connector="OR"),
                name="programme_quiet_hours_both_or_neither",
                violation_error_message="Give both ends of the quiet hours, or neither.",
            ),
        ),
        migrations.AddField(
            model_name="pharmacovigilancecase",
            name="programme",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="pv_cases",
                                    to="reminders.programme", verbose_name="programme"),
        ),
        migrations.AddField(
            model_name="pharmacovigilancecase",
            name="received_at",
            field=models.DateTimeField(null=True, verbose_name="received"),
        ),
        migrations.AddField(
            model_name="pharmacovigilancecase",
            name="review_due_at",
            field=models.DateTimeField(db_index=True, null=True, verbose_name="review due by"),
        ),
        migrations.RunPython(backfill_cases, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="pharmacovigilancecase",
            name="programme",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="pv_cases",
                                    to="reminders.programme", verbose_name="programme"),
        ),
        migrations.AlterField(
            model_name="pharmacovigilancecase",
            name="received_at",
            field=models.DateTimeField(verbose_name="received"),
        ),
        migrations.AlterField(
            model_name="pharmacovigilancecase",
            name="review_due_at",
            field=models.DateTimeField(db_index=True, verbose_name="review due by"),
        ),
        migrations.AddField(
            model_name="pharmacovigilancecase",
            name="plan",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to="reminders.medicationplan", verbose_name="medication plan"),
        ),
        migrations.AddField(
            model_name="pharmacovigilancecase",
            name="medication",
            field=models.CharField(blank=True, help_text="The drug the message names, else the patient's active medication.", max_length=500, verbose_name="medication"),
        ),
        migrations.AddField(
            model_name="pharmacovigilancecase",
            name="reporter",
            field=models.CharField(choices=[("patient", "Patient"), ("caregiver", "Caregiver")], default="patient",
                                   max_length=12, verbose_name="reported by"),
        ),
        migrations.AddField(
            model_name="pharmacovigilancecase",
            name="serious",
            field=models.BooleanField(default=False, verbose_name="possibly serious"),
        ),
        migrations.AlterField(
            model_name="pharmacovigilancecase",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="queued"),
        ),
        migrations.AddConstraint(
            model_name="pharmacovigilancecase",
            constraint=models.CheckConstraint(condition=models.Q(("review_due_at__gte", models.F("received_at"))),
                                              name="pv_case_review_due_after_receipt"),
        ),
    ]
