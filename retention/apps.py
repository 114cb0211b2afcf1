from django.apps import AppConfig


class RetentionConfig(AppConfig):
    """Data protection: anonymising people whose cases all closed longer ago than their force
    allows, and subject access requests. Both reach a person's data in every app, so it sits
    above them all."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "retention"
