"""/learning/knowledge/…: asking medical and the rep's questions (the search is the knowledge base page)."""

from django.urls import path

from learning.knowledge import views

urlpatterns = [
    path("knowledge/ask/", views.ask_medical, name="knowledge_ask"),
    path("knowledge/questions/", views.my_questions, name="knowledge_questions"),
]
