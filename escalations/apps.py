from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    """Escalations: the deadline sweep, the supervisor's decisions, reminders and the digest."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "escalations"

    def ready(self) -> None:
        from cases import extensions
        from escalations.selectors import escalation_timeline

        extensions.add_timeline(escalation_timeline)
