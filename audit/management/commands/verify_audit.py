"""Check the audit log's hash chain; exit 1 naming the first row that breaks it."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.chain import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exits 1 and names the first bad row if broken."

    def handle(self, *args, **options):
        """Verify, print the result, and fail when the chain is broken."""
        report = verify_chain()
        if not report.ok:
            raise CommandError(report.describe(), returncode=1)
        self.stdout.write(report.describe())
