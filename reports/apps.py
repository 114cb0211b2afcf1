from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Analysts' reports: outcomes through the decision chain and fairness monitoring, every
    figure through one disclosure-control step (disclosure.py). Holds no model: it reads the
    cases, programmes and escalations below it, in aggregate only."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
