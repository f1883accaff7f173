# Evidence downloads are staff-only admin views under /admin/meetings/… (events/admin/evidence.py).
urlpatterns = []
