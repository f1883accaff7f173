"""Category names are unique among siblings, top-level ones included, with constraints SQLite supports too (it
ignores NULLS NOT DISTINCT)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('learning', '0005_knowledge_scorm'),
    ]

    operations = [
        migrations.RemoveConstraint(model_name='questioncategory', name='questioncategory_unique_name'),
        migrations.AddConstraint(
            model_name='questioncategory',
            constraint=models.UniqueConstraint(fields=('parent', 'name'), name='questioncategory_unique_name'),
        ),
        migrations.AddConstraint(
            model_name='questioncategory',
            constraint=models.UniqueConstraint(condition=models.Q(('parent__isnull', True)), fields=('name',),
                                               name='questioncategory_unique_root_name'),
        ),
    ]
