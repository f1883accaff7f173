"""Master data and defaults for membership: therapy areas, points rules, first policy versions,
segmentation defaults, and the new models' permissions for the roles."""

import datetime

from django.contrib.auth.management import create_permissions
from django.db import migrations

THERAPY_AREAS = [
    ("diabetes", "糖尿病", "Diabetes"),
    ("cardiovascular", "心血管", "Cardiovascular"),
    ("oncology", "肿瘤", "Oncology"),
    ("respiratory", "呼吸", "Respiratory"),
    ("neurology", "神经", "Neurology"),
    ("nephrology", "肾脏", "Nephrology"),
    ("immunology", "免疫", "Immunology"),
]

POINTS_RULES = [
    # code, name, points, daily cap, yearly cap
    ("read_article", "阅读学术内容", 5, 30, 1500),
    ("meeting_attend", "参加学术会议", 50, 100, 2000),
    ("survey_answer", "完成问卷", 20, 40, 800),
    ("live_watch", "观看直播", 30, 60, 1500),
    ("profile_verified", "完成医生认证", 100, None, 100),
]

POLICIES = [
    ("privacy", "隐私政策", "为提供学术服务、身份认证和合规记录而处理您的个人信息。",
     "Engage 隐私政策（第1版）：我们收集您的姓名、手机号、执业信息和执业证书照片，仅用于医生身份认证、"
     "学术内容与会议服务以及法规要求的合规记录。您可以随时查询、导出、更正或删除您的个人信息，也可以注销账户。"),
    ("marketing_wechat", "微信学术信息推送", "通过微信向您发送学术会议与内容通知。",
     "同意后，我们会通过微信公众号向您发送学术会议、学术内容和课程的通知。您可以随时一键撤回。"),
    ("marketing_sms", "短信学术信息推送", "通过短信向您发送学术会议与内容通知。",
     "同意后，我们会通过短信向您发送学术会议、学术内容和课程的通知。您可以随时一键撤回。"),
    ("marketing_email", "邮件学术信息推送", "通过电子邮件向您发送学术会议与内容通知。",
     "同意后，我们会通过电子邮件向您发送学术会议、学术内容和课程的通知。您可以随时一键撤回。"),
]

DEFAULT_THRESHOLDS = {
    "big5": {"A": {"beds_in_charge": 40, "weekly_outpatients": 300, "weekly_target_patients": 80},
             "B": {"beds_in_charge": 20, "weekly_outpatients": 150, "weekly_target_patients": 30}},
    "other": {"A": {"beds_in_charge": 30, "weekly_outpatients": 200, "weekly_target_patients": 50},
              "B": {"beds_in_charge": 15, "weekly_outpatients": 100, "weekly_target_patients": 20}},
}
DEFAULT_WEIGHTS = {"content_read": 1, "meeting_attended": 5, "live_watched": 3, "survey_answered": 2,
                   "course_taught": 10}
DEFAULT_CUTOFFS = {"1": 60, "2": 20}

ROLE_PERMISSIONS = {
    "marketing": [
        "view_doctorprofile", "change_doctorprofile", "view_verificationdecision",
        "view_hospital", "add_hospital", "change_hospital", "add_hospitalimport", "view_hospitalimport",
        "view_therapyarea", "view_territory", "add_territory", "change_territory",
        "view_engagementevent", "view_doctorsegment", "view_segmentchange", "view_doctorindicators",
        "add_doctorindicators", "change_doctorindicators", "view_segmentationconfig",
        "view_pointsrule", "add_pointsrule", "change_pointsrule", "view_reward", "add_reward", "change_reward",
    ],
    "compliance": [
        "view_doctorprofile", "change_doctorprofile", "view_verificationdecision", "view_consent",
        "view_policyversion", "add_policyversion", "view_hospital", "view_territory", "view_engagementevent",
        "view_doctorsegment", "view_pointstransaction", "view_pointsaccount", "view_pointsrule", "view_reward",
        "change_reward", "view_redemption", "view_pointssettings", "change_pointssettings",
    ],
}


def forward(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    from pypinyin import Style, lazy_pinyin

    Hospital = apps.get_model("members", "Hospital")
    for hospital in Hospital.objects.filter(pinyin_initials=""):
        letters = "".join(lazy_pinyin(hospital.name, style=Style.FIRST_LETTER, errors=lambda c: list(c)))
        hospital.pinyin_initials = "".join(ch for ch in letters if ch.isalnum()).upper()[:100]
        hospital.save(update_fields=["pinyin_initials"])

    TherapyArea = apps.get_model("members", "TherapyArea")
    SegmentationConfig = apps.get_model("members", "SegmentationConfig")
    for code, name, name_en in THERAPY_AREAS:
        area, _ = TherapyArea.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en})
        SegmentationConfig.objects.get_or_create(
            therapy_area=area,
            defaults={"potential_thresholds": DEFAULT_THRESHOLDS, "support_weights": DEFAULT_WEIGHTS,
                      "support_cutoffs": DEFAULT_CUTOFFS},
        )

    PointsRule = apps.get_model("members", "PointsRule")
    for code, name, points, daily, yearly in POINTS_RULES:
        PointsRule.objects.get_or_create(
            code=code, defaults={"name": name, "points": points, "daily_cap": daily, "yearly_cap": yearly}
        )
    apps.get_model("members", "PointsSettings").objects.get_or_create(pk=1)

    PolicyVersion = apps.get_model("members", "PolicyVersion")
    effective = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for kind, title, purpose, text in POLICIES:
        PolicyVersion.objects.get_or_create(
            kind=kind, version="1", language="zh-hans",
            defaults={"title": title, "purpose": purpose, "text": text, "effective_at": effective},
        )

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="members", codename__in=codenames))
    admin = Group.objects.get(name="admin")
    admin.permissions.add(*Permission.objects.filter(content_type__app_label="members"))


class Migration(migrations.Migration):
    dependencies = [("members", "0003_membership")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
