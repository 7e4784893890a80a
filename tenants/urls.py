from django.urls import path

from . import views

app_name = "service-accounts"

urlpatterns = [
    path("", views.service_accounts, name="list"),
    path("<slug:name>/sponsor/", views.service_account_sponsor, name="sponsor"),
]
