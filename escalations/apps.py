from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    """Escalations: the deadline sweep, the supervisor's decisions, reminders and the digest."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "escalations"
