"""Mounted at /accounts/ before allauth's own URLs: our wrappers of allauth's log-in, code request and code
confirmation."""

from django.urls import path

from members.accounts import views

urlpatterns = [
    path("login/", views.login, name="account_login"),
    path("login/code/", views.request_login_code, name="account_request_login_code"),
    path("login/code/confirm/", views.confirm_login_code, name="account_confirm_login_code"),
]
