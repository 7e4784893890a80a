"""Keeps tenants.models.UserSession filled: which sessions each user has open."""

from django.contrib.auth.signals import user_logged_in

from .models import UserSession


def _signed_in(sender, request, user, **kwargs):
    session = request.session
    if session.session_key is None:
        # login() flushed a session of another user: save now to get the key the browser
        # will hold (the middleware would save it only with the response).
        session.save()
    UserSession.objects.update_or_create(session_id=session.session_key, defaults={"user": user})


def connect():
    user_logged_in.connect(_signed_in, dispatch_uid="tenants-user-session")
