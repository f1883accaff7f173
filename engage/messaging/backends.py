"""SMS backends: `send(to, template_key, params, language)` returns the provider's message id."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from .templates import get_template

logger = logging.getLogger("engage.messaging")


@dataclass
class SendResult:
    provider_message_id: str


class SendError(Exception):
    def __init__(self, code: str, message: str, *, permanent: bool):
        super().__init__(message)
        self.code = code
        self.permanent = permanent


class OutboxSmsBackend:
    """Development: the message stays in the outbox table and is printed to the console."""

    def send(self, to: str, template_key: str, params: dict, language: str = "zh-hans") -> SendResult:
        text = get_template(template_key).render_sms(params, language)
        logger.info("SMS to %s: %s", to, text)
        return SendResult(provider_message_id="")


class TwilioSmsBackend:
    """Twilio's Programmable Messaging through the official client."""

    PERMANENT_ERRORS = {21211, 21610, 21614, 21408, 21612}

    def __init__(self):
        from twilio.rest import Client

        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)

    def send(self, to: str, template_key: str, params: dict, language: str = "zh-hans") -> SendResult:
        from twilio.base.exceptions import TwilioRestException

        text = get_template(template_key).render_sms(params, language)
        try:
            message = self.client.messages.create(
                to=to, body=text, messaging_service_sid=settings.TWILIO_MESSAGING_SERVICE_SID
            )
        except TwilioRestException as exc:
            raise SendError(str(exc.code), exc.msg, permanent=exc.code in self.PERMANENT_ERRORS) from exc
        return SendResult(provider_message_id=message.sid)


def sms_backend():
    return import_string(settings.ENGAGE_SMS_BACKEND)()
