"""Alerting administrators, through the outbox, when the audit log's hash chain is broken.

audit cannot import the outbox (it sits below programmes), so programmes declares this alert
to audit when Django starts (ProgrammesConfig.ready); the daily check calls it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.chain import ChainReport
from base.clock import london_date
from programmes.models import Notification
from programmes.notifications import send_soon

KIND = "audit_chain_broken"
SUBJECT = "Action needed: the audit log has been tampered with"
BODY = """The daily check of the audit log found its hash chain broken.

{description}

Someone with direct access to the database may have changed, removed or inserted audit rows.
Do not change anything: keep the database as it is, and tell your security team now. Run
`python manage.py verify_audit` to check again.

{site}/audit/
"""


def alert_administrators(report: ChainReport) -> int:
    """Queue one email per active administrator (once a day per broken row); return how many."""
    day = london_date(timezone.now()).isoformat()
    site = getattr(settings, "SITE_URL", "").rstrip("/")
    queued = 0
    with transaction.atomic():
        for user in User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).exclude(email=""):
            _, created = Notification.objects.get_or_create(
                dedupe_key=f"{KIND}:{report.first_bad_id}:{day}:{user.pk}",
                defaults={
                    "kind": KIND,
                    "channel": Notification.Channel.EMAIL,
                    "recipient": user.email,
                    "subject": SUBJECT,
                    "body": BODY.format(description=report.describe(), site=site),
                },
            )
            queued += created
        if queued:
            send_soon()
    return queued
