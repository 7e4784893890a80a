from functools import wraps

from django.http import Http404


def full_admin_required(view):
    """Pages for full admins only; everyone else gets the same 404 as for a missing page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.administers_tenant:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
