from django.apps import AppConfig


class RetentionConfig(AppConfig):
    """Retention: anonymising people whose cases all closed longer ago than their force allows.
    It erases free text in every app, so it sits above them all."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "retention"
