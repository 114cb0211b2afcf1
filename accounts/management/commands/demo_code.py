"""Print the current authenticator code of a demo user, for trying the demo without a phone."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Show the current 6-digit code of a demo user's authenticator (DEBUG only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_code is for the demo only: it needs DEBUG on.")
        device = TOTPDevice.objects.filter(
            user__username=options["username"], name="Demo authenticator", confirmed=True
        ).first()
        if device is None:
            raise CommandError(f"{options['username']} has no demo authenticator.")
        code = totp(device.bin_key, step=device.step, digits=device.digits)
        self.stdout.write(f"{code:06d}")
