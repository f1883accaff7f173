"""Provider webhooks, mounted at /webhooks/ (the URLs to configure at Twilio and in the WeChat console)."""

from django.urls import path

from engage.messaging import views

app_name = "messaging"
urlpatterns = [
    path("twilio/status/", views.twilio_status, name="twilio_status"),
    path("twilio/inbound/", views.twilio_inbound, name="twilio_inbound"),
    path("wechat/", views.wechat_callback, name="wechat_callback"),
]
