from django.urls import path

from . import service_accounts as views

app_name = "service-accounts"

urlpatterns = [
    path("", views.service_accounts, name="list"),
    path("<slug:name>/", views.service_account_detail, name="detail"),
    path("<slug:name>/tokens/new/", views.service_account_token, name="generate"),
    path("<slug:name>/sponsor/", views.service_account_sponsor, name="sponsor"),
    path("<slug:name>/role/", views.service_account_role, name="role"),
]
