"""The message template the messaging tests send (also imported by the crash-test worker process)."""

from engage.messaging.templates import MessageTemplate, register

register(MessageTemplate(
    key="test_reminder",
    sms={"zh-hans": "【Engage】请在{time}服用{drug}。", "en": "[Engage] Take {drug} at {time}."},
    wechat_template_id="TPL-reminder",
    wechat_fields={"thing1": "{drug}", "time2": "{time}"},
    wechat_url="https://engage.test/r/{ref}",
))
PARAMS = {"drug": "二甲双胍", "time": "08:00", "ref": "abc"}
