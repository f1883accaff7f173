"""The two keyword replies every Official Account starts with; staff edit or remove them in the admin."""

from django.db import migrations

SEED = [
    ("会议", "我的会议：报名、电子票和签到。", "/events/me/"),
    ("积分", "我的学术积分与兑换记录。", "/members/me/points/"),
]


def seed(apps, schema_editor):
    KeywordReply = apps.get_model("members", "KeywordReply")
    for keyword, reply, path in SEED:
        KeywordReply.objects.get_or_create(keyword=keyword, defaults={"reply": reply, "link_path": path})


def unseed(apps, schema_editor):
    apps.get_model("members", "KeywordReply").objects.filter(keyword__in=[k for k, _r, _p in SEED]).delete()


class Migration(migrations.Migration):
    dependencies = [("members", "0010_wechat_menu_keywords")]
    operations = [migrations.RunPython(seed, unseed)]
