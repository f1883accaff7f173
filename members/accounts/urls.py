"""Mounted at /accounts/ before allauth's own URLs: our wrapper of allauth's code confirmation."""

from django.urls import path

from members.accounts import views

urlpatterns = [
    path("login/code/confirm/", views.confirm_login_code, name="account_confirm_login_code"),
]
