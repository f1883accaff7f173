"""allauth mounts each provider's URLs from its package: /accounts/weixin/login/ and …/login/callback/ (the
callback is the redirect_uri registered as the OAuth domain in the Official Account settings)."""

from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from members.wechat.provider import OfficialAccountProvider

urlpatterns = default_urlpatterns(OfficialAccountProvider)
