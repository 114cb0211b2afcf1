"""Issue an API token to a system's own account, for systems that cannot use the tokens page.

A provider's or force's case system gets an account of its own (the role it acts as, its
organisation, no password: see README, API) and a token from this command. The key is printed
once; the issue is audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken
from audit.services import audit_record
from base.errors import DomainError


class Command(BaseCommand):
    help = "Issue an API token for a user (typically a system's own account) and print it once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what the token is for")
        parser.add_argument(
            "--days",
            type=int,
            default=settings.API_TOKEN_LIFETIME_DAYS,
            help=f"how many days it works (default {settings.API_TOKEN_LIFETIME_DAYS})",
        )
        parser.add_argument("--read-only", action="store_true", help="it may only read")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user {options['username']!r}.")
        try:
            with transaction.atomic():
                token, key = ApiToken.issue(
                    user=user,
                    name=options["name"],
                    lifetime=timedelta(days=options["days"]),
                    read_only=options["read_only"],
                )
                audit_record(
                    user=None,
                    action="create",
                    obj=token,
                    changes={
                        "read_only": token.read_only,
                        "expires_at": token.expires_at.isoformat(),
                        "holder": user.pk,
                    },
                    reason="manage.py issue_api_token",
                )
        except DomainError as error:
            raise CommandError(error.message) from error
        expires = timezone.localtime(token.expires_at).strftime("%-d %b %Y %H:%M %Z")
        read = " (read only)" if token.read_only else ""
        if user.has_usable_password():
            self.stderr.write(
                f"Note: {user.username} can also sign in with a password. A system's own account "
                "should not: disable password-based sign-in for it in the admin."
            )
        self.stderr.write(f"Token {token.prefix}… for {user.username}{read}, expires {expires}:")
        self.stdout.write(key)
