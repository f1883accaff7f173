from django.urls import path

from engage.inbox import views as views_inbox

urlpatterns = [
    path("", views_inbox.inbox, name="inbox"),
    path("<int:notification_id>/open", views_inbox.notification_open, name="inbox_open"),
    path("read-all", views_inbox.inbox_mark_all_read, name="inbox_read_all"),
]
