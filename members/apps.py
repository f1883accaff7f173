from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self):
        from engage.messaging.inbound import register_inbound_handler  # ready(): modules load after the registry
        from members.wechat.services import on_wechat_inbound  # ready(): models are loaded by now

        register_inbound_handler(on_wechat_inbound, first=True)  # an exact keyword's reply before any other
