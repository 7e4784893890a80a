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
