from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tenants.permissions import may_choose_notifications
from web.access import allowed

from .forms import NotificationSettingsForm
from .models import NotificationSettings


@require_http_methods(["GET", "POST"])
@allowed(may_choose_notifications)
def notification_settings(request):
    # As on every form page, a POST without form fields (a JSON body, say) changes nothing:
    # a browser always sends the CSRF field, even with every box unticked.
    form = NotificationSettingsForm(
        request.POST or None,
        instance=NotificationSettings.of(request.user),
        user=request.user,
    )
    if form.is_valid():
        form.save()
        messages.success(request, "Your notification settings are saved.")
        return redirect("notifications:settings")
    return render(request, "notifications/settings.html", {"form": form})
