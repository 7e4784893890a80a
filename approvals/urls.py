from django.urls import path

from . import views

app_name = "approvals"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_new, name="new"),
    path("<uuid:request_id>/approve/", views.request_approve, name="approve"),
    path("<uuid:request_id>/deny/", views.request_deny, name="deny"),
    path("<uuid:request_id>/reveal/", views.request_reveal, name="reveal"),
]
