from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data (`manage.py seed_demo`): it spans every app, so it sits above them all."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "demo"
