"""Doctor- and rep-facing pages of members/, mounted at /members/. One line per view; areas add theirs."""

from django.urls import path

from members.accounts import views
from members.consents import views as views_consents
from members.hospitals import views as views_rep
from members.points import views as views_points
from members.profiles import views as views_profile
from members.wechat import views as views_wechat

urlpatterns = [
    path("me/", views.member_home, name="member_home"),
    path("profile/", views_profile.profile_edit, name="profile_edit"),
    path("profile/hospitals/", views_profile.hospital_search, name="profile_hospital_search"),
    path("profile/hospitals/propose/", views_profile.hospital_propose, name="profile_hospital_propose"),
    path("profile/<int:profile_id>/certificate/", views_profile.certificate_file, name="profile_certificate"),
    path("consents/privacy/policy/", views_consents.privacy_policy, name="privacy_policy"),
    path("consents/privacy/", views_profile.privacy_reconsent, name="privacy_reconsent"),
    path("consents/<slug:kind>/withdraw/", views_profile.consent_withdraw, name="consent_withdraw"),
    path("consents/<slug:kind>/give/", views_profile.consent_give, name="consent_give"),
    path("me/data.<str:fmt>", views_profile.data_export, name="personal_data_export"),
    path("me/close/", views_profile.account_close, name="account_close"),
    path("me/points/", views_points.points_home, name="points_home"),
    path("me/points/rewards/", views_points.rewards_list, name="points_rewards"),
    path("me/points/rewards/<int:reward_id>/", views_points.reward_detail, name="points_reward"),
    path("me/points/redemptions/", views_points.redemptions_list, name="points_redemptions"),
    path("rep/doctors/", views_rep.rep_doctors, name="rep_doctors"),
    path("wechat/authorize/", views_wechat.authorize, name="wechat_authorize"),
    path("wechat/bind/", views_wechat.bind, name="wechat_bind"),
    path("wechat/unbind/", views_wechat.unbind, name="wechat_unbind"),
    path("wechat/subscribe/", views_wechat.subscribe, name="wechat_subscribe"),
    path("wechat/subscribe/done/", views_wechat.subscribe_done, name="wechat_subscribe_done"),
]
