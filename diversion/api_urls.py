"""The REST API, version 1: one router for every app's endpoints."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

router = DefaultRouter()

urlpatterns = router.urls
