"""/learning/certificates/… and the public /learning/verify/<code>/."""

from django.urls import path, re_path

from learning.certificates import views

urlpatterns = [
    path("certificates/", views.certificates_mine, name="certificates_mine"),
    path("certificates/<int:certificate_id>/", views.certificate_detail, name="certificate"),
    path("certificates/<int:certificate_id>/certificate.pdf", views.certificate_download, name="certificate_pdf"),
    path("certificates/<int:certificate_id>/qr.svg", views.certificate_qr, name="certificate_qr"),
    # Codes are secrets.token_urlsafe: letters, digits, - and _.
    re_path(r"^verify/(?P<code>[0-9A-Za-z_-]{1,40})/$", views.certificate_verify, name="certificate_verify"),
]
