from django.urls import path

from events.photos import views as photos

urlpatterns = [
    path("<int:event_id>/photos/", photos.photo_upload_page, name="photo_upload"),
    path("photos/<int:photo_id>/image", photos.photo_file, name="photo_file"),
]
