"""The service's URLs and one page that fails, for the 500 page's test (test_police_words)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from diversion.urls import handler404
from diversion.urls import urlpatterns as service_urls

__all__ = ["handler404", "urlpatterns"]


def failing_page(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("A page that fails")


urlpatterns = [*service_urls, path("failing-page/", failing_page)]
