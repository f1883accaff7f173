from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('learning', '0002_course_points_rule'),
    ]

    operations = [
        migrations.AddField(
            model_name='lessonpage',
            name='approval_code',
            field=models.CharField(blank=True, default='', max_length=40, verbose_name='approval code'),
        ),
    ]
