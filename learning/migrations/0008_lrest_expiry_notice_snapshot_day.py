"""Product-course expiry warnings are recorded once per approval and threshold (CourseExpiryNotice), and one
competency snapshot per rep, competency and day holds on SQLite too (two constraints instead of NULLS NOT
DISTINCT)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cms', '0011_chinese_workflow_names'),
        ('learning', '0007_lrest_compliance_values'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CourseExpiryNotice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('approval_code', models.CharField(max_length=40)),
                ('days_before', models.PositiveSmallIntegerField()),
                ('sent_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.RemoveConstraint(
            model_name='competencysnapshot',
            name='competencysnapshot_one_per_day',
        ),
        migrations.AddConstraint(
            model_name='competencysnapshot',
            constraint=models.UniqueConstraint(fields=('user', 'kind', 'product', 'taken_on'), name='competencysnapshot_one_per_day'),
        ),
        migrations.AddConstraint(
            model_name='competencysnapshot',
            constraint=models.UniqueConstraint(condition=models.Q(('product__isnull', True)), fields=('user', 'kind', 'taken_on'), name='competencysnapshot_one_per_day_no_product'),
        ),
        migrations.AddField(
            model_name='courseexpirynotice',
            name='course',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='expiry_notices', to='learning.coursepage'),
        ),
        migrations.AddConstraint(
            model_name='courseexpirynotice',
            constraint=models.UniqueConstraint(fields=('course', 'approval_code', 'days_before'), name='courseexpirynotice_once_per_threshold'),
        ),
    ]
