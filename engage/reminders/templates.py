"""The reminder programme's message templates, registered with the gateway from RemindersConfig.ready().

WeChat template ids come from the settings (REMINDERS_WECHAT_TEMPLATE_IDS, key -> id) because each Official
Account gets its own ids when the templates are approved.
"""

from django.conf import settings

from engage.messaging.templates import MessageTemplate, register

KEYS = ("dose_reminder", "dose_follow_up", "dose_escalation", "checkup_reminder")


def _wechat_id(key: str) -> str:
    return (getattr(settings, "REMINDERS_WECHAT_TEMPLATE_IDS", None) or {}).get(key, f"engage-{key}")


def register_templates() -> None:
    register(MessageTemplate(
        key="dose_reminder",
        sms={
            "zh-hans": "【Engage】您 {time} 的用药时间到了：{drug} {dose}。服药后回复 1 确认。回复 TD 退订。",
            "en": "[Engage] Time for your {time} dose: {drug} {dose}. Reply 1 once taken. Reply STOP to opt out.",
        },
        wechat_template_id=_wechat_id("dose_reminder"),
        wechat_fields={"thing1": "{drug} {dose}", "time2": "{time}", "thing3": "服药后回复 1 确认"},
        wechat_url="{url}",
    ))
    register(MessageTemplate(
        key="dose_follow_up",
        sms={
            "zh-hans": "【Engage】提醒：您 {time} 的 {drug} 还未确认服用。服药后回复 1，未服回复 0。回复 TD 退订。",
            "en": "[Engage] Reminder: your {time} dose of {drug} is not confirmed yet. Reply 1 if taken, 0 if "
                  "skipped. Reply STOP to opt out.",
        },
        wechat_template_id=_wechat_id("dose_follow_up"),
        wechat_fields={"thing1": "{drug}", "time2": "{time}", "thing3": "尚未确认服用"},
        wechat_url="{url}",
    ))
    register(MessageTemplate(
        key="dose_escalation",
        sms={
            "zh-hans": "【Engage】您关心的家人 {time} 的 {drug} 已超过 1 小时未确认服用，请提醒 TA。回复 TD 退订。",
            "en": "[Engage] Your family member has not confirmed their {time} dose of {drug} for an hour. "
                  "Please remind them. Reply STOP to opt out.",
        },
        wechat_template_id=_wechat_id("dose_escalation"),
        wechat_fields={"thing1": "{drug}", "time2": "{time}", "thing3": "家人超过 1 小时未确认服药"},
    ))
    register(MessageTemplate(
        key="checkup_reminder",
        sms={
            "zh-hans": "【Engage】复查提醒：今天（{date}）请按医嘱进行 {title} 检查。回复 TD 退订。",
            "en": "[Engage] Check-up reminder: your {title} is due today ({date}). Reply STOP to opt out.",
        },
        wechat_template_id=_wechat_id("checkup_reminder"),
        wechat_fields={"thing1": "{title}", "date2": "{date}"},
    ))
