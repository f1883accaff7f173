"""/learning/… site views; each area keeps its own urls.py."""

app_name = "learning"

urlpatterns: list = []
