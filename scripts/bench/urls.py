"""The application's URLs and two trivial API endpoints to compare the attendance API against.

Both trivial endpoints parse the same JSON body as the attendance API and answer a constant:
/bench/trivial/ with no authentication at all (the cost of Django and DRF themselves),
/bench/trivial-token/ behind the API's own authentication and permission (plus the cost of
checking a token). Served only under scripts.bench.settings, never by the application.
"""

from __future__ import annotations

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from diversion.urls import urlpatterns as application


class Trivial(APIView):
    """Read the body, answer {"ok": true}: no authentication, no database."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        return Response({"ok": True, "fields": len(request.data)})


class TrivialWithToken(APIView):
    """The same, behind the API's default authentication (a token) and IsAuthenticated."""

    def post(self, request: Request) -> Response:
        return Response({"ok": True, "fields": len(request.data)})


urlpatterns = [
    path("bench/trivial/", Trivial.as_view()),
    path("bench/trivial-token/", TrivialWithToken.as_view()),
    *application,
]
