"""The stored values of two choices no longer read like the compliance role's name: a knowledge entry about a
compliance rule is "compliance_rule", a question category (and a capability snapshot) about compliance is
"compliance_topic". Existing rows and the knowledge pages' revisions are converted both ways."""

from django.db import migrations, models

# (app model, field, old value, new value)
RENAMES = [
    ("knowledgeentrypage", "kind", "compliance", "compliance_rule"),
    ("questioncategory", "kind", "compliance", "compliance_topic"),
    ("competencysnapshot", "kind", "compliance", "compliance_topic"),
]


def _convert(apps, *, forward: bool):
    for model_name, field, old, new in RENAMES:
        before, after = (old, new) if forward else (new, old)
        apps.get_model("learning", model_name).objects.filter(**{field: before}).update(**{field: after})
    # A knowledge entry's drafts and history hold the kind too; publishing or reverting one must not bring back the
    # old value.
    revision_model = apps.get_model("wagtailcore", "Revision")
    before, after = ("compliance", "compliance_rule") if forward else ("compliance_rule", "compliance")
    revisions = revision_model.objects.filter(content_type__app_label="learning",
                                              content_type__model="knowledgeentrypage", content__kind=before)
    for revision in revisions.iterator():
        revision.content["kind"] = after
        revision.save(update_fields=["content"])


def forwards(apps, schema_editor):
    _convert(apps, forward=True)


def backwards(apps, schema_editor):
    _convert(apps, forward=False)


class Migration(migrations.Migration):

    dependencies = [
        ('learning', '0006_category_unique_root_name'),
        ('wagtailcore', '0098_apitoken'),
    ]

    operations = [
        migrations.AlterField(
            model_name='knowledgeentrypage',
            name='kind',
            field=models.CharField(choices=[('faq', 'Frequently asked question'), ('objection', 'Objection handling'), ('indication', 'Indications'), ('compliance_rule', 'Compliance rule')], db_index=True, default='faq', max_length=20, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='questioncategory',
            name='kind',
            field=models.CharField(choices=[('product', 'Product knowledge'), ('compliance_topic', 'Compliance'), ('disease', 'Disease knowledge'), ('skills', 'Skills')], default='product', max_length=20, verbose_name='competency'),
        ),
        migrations.AlterField(
            model_name='competencysnapshot',
            name='kind',
            field=models.CharField(max_length=20, verbose_name='competency'),
        ),
        migrations.RunPython(forwards, backwards),
    ]
