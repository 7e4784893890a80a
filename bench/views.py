"""The one tiny JSON response, served with each kind of authentication under comparison.

Every variant returns the same body, so a difference in time is the cost of the route to it.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework.authentication import TokenAuthentication as DrfTokenAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from web.api import api_view

BODY = {"ok": True}


@login_not_required
def ping(request):
    """Served outside /api/: no auth."""
    return JsonResponse(BODY)


# Under /api/, as every API endpoint: ApiTokenMiddleware identifies the token, the view takes
# an API token (its default), records its use, and answers no-store.
api_ping = api_view("GET")(ping)


class DrfPing(APIView):
    """DRF's view machinery with no authentication: the baseline for DRF's auth overhead."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(BODY)


class DrfTokenPing(DrfPing):
    authentication_classes = [DrfTokenAuthentication]
    permission_classes = [IsAuthenticated]


class KnoxTokenPing(DrfPing):
    authentication_classes = [KnoxTokenAuthentication]
    permission_classes = [IsAuthenticated]


def drf_view(view_class):
    # DRF authenticates inside the view; LoginRequiredMiddleware runs before it and would
    # redirect its anonymous-looking request to the sign-in page.
    return login_not_required(view_class.as_view())
