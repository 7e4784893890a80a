from django.urls import path

from . import views

app_name = "tokens"

urlpatterns = [
    path("", views.token_list, name="list"),
    path("new/", views.token_generate, name="generate"),
    path("policy/", views.token_policy, name="policy"),
    path("revoke-deprovisioned/", views.revoke_deprovisioned, name="revoke-deprovisioned"),
    path("<uuid:token_id>/", views.token_detail, name="detail"),
    path("<uuid:token_id>/revoke/", views.revoke, name="revoke"),
    path("<uuid:token_id>/rotate/", views.rotate, name="rotate"),
    path("<uuid:token_id>/suspend/", views.suspend, name="suspend"),
    path("<uuid:token_id>/resume/", views.resume, name="resume"),
    path("<uuid:token_id>/networks/", views.token_networks, name="networks"),
    path("<uuid:token_id>/review-networks/", views.review_networks, name="review-networks"),
]
