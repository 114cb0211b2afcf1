"""`flush` as the owner role: emptying every table (the audit log's too) takes TRUNCATE, which
the runtime role does not have. Django's transactional tests flush after each test."""

from __future__ import annotations

from django.core.management.commands import flush

from audit.roles import as_owner


class Command(flush.Command):
    def handle(self, **options):
        """Flush as the owner when DATABASE_OWNER_URL is set."""
        with as_owner(options["database"]):
            return super().handle(**options)
