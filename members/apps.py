from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self):
        from engage.messaging.inbound import register_inbound_handler  # ready(): modules load after the registry
        from members.wechat.services import on_wechat_inbound  # ready(): models are loaded by now

        register_inbound_handler(on_wechat_inbound, first=True)  # an exact keyword's reply before any other

        from engage.core.preload import register_user_preload  # as above
        from members.accounts.selectors import access_level_expression, remember_access_level  # as above
        from members.consents.selectors import (  # as above
            privacy_consent_needed_expression,
            remember_privacy_consent_needed,
        )

        register_user_preload("access_level", expression=access_level_expression, remember=remember_access_level)
        register_user_preload("privacy_consent_needed", expression=privacy_consent_needed_expression,
                              remember=remember_privacy_consent_needed)
