from functools import wraps

from django.http import Http404


def allowed(predicate):
    """A page only for users for whom predicate(user) holds (tenants.permissions answers);
    everyone else gets the same 404 as for a missing page, so it does not say it exists."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not predicate(request.user):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def undone_when_signed_out(outcome):
    """Declares what a form's POST to this view did not do when it arrived after its session
    ended, in words for the sign-in page: "the token was not revoked" (web.middleware
    SignInRequiredMiddleware says "Your session expired, so <outcome>. Sign in and try
    again.")."""

    def decorator(view):
        view.undone_when_signed_out = outcome
        return view

    return decorator
