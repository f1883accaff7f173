"""/events/… registration pages: register and cancel, my meetings, tickets, invitations."""

from django.urls import path, re_path

from events.registrations import views as registrations

# Ticket secrets and invitation codes use events.registrations.tickets.ALPHABET (upper case, no look-alikes).
CODE = r"(?P<{}>[0-9A-Za-z]{{4,40}})"
urlpatterns = [
    path("<int:event_id>/register/", registrations.register, name="register"),
    path("<int:event_id>/cancel/", registrations.cancel, name="registration_cancel"),
    path("me/", registrations.my_meetings, name="my_meetings"),
    path("rep/quotas/", registrations.rep_quotas, name="rep_quotas"),
    re_path(r"^tickets/" + CODE.format("secret") + r"/$", registrations.ticket, name="ticket"),
    re_path(r"^tickets/" + CODE.format("secret") + r"/qr\.(?P<fmt>png|svg)$", registrations.ticket_qr,
            name="ticket_qr"),
    re_path(r"^tickets/" + CODE.format("secret") + r"/calendar\.ics$", registrations.ticket_calendar,
            name="ticket_ics"),
    re_path(r"^invite/" + CODE.format("code") + r"/$", registrations.invitation, name="invitation"),
    re_path(r"^invite/" + CODE.format("code") + r"/qr\.svg$", registrations.invitation_qr, name="invitation_qr"),
]
urlpatterns += [
    path("rep/doctors/<int:doctor_id>/invite/", registrations.rep_invite, name="rep_invite"),
    path("rep/invited/", registrations.rep_invited, name="rep_invited"),
    path("rep/share/", registrations.rep_share_list, name="rep_share_list"),
    path("rep/share/<int:page_id>/", registrations.rep_share, name="rep_share"),
    path("rep/share/<int:page_id>/qr.svg", registrations.rep_share_qr, name="rep_share_qr"),
]
