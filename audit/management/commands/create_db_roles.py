"""Create the owner and runtime database roles and hand the database to the owner.

Run once per database by an administrator (a PostgreSQL superuser), and again whenever a
password changes; safe to run again:

    DATABASE_ADMIN_URL=postgres://postgres:...@host:5432/diversion \\
    DATABASE_OWNER_URL=postgres://diversion_owner:...@host:5432/diversion \\
    DATABASE_URL=postgres://diversion_app:...@host:5432/diversion \\
        python manage.py create_db_roles

The role names and passwords are the users and passwords of DATABASE_OWNER_URL (the owner:
owns the schema, runs migrate) and DATABASE_URL (the runtime role: web, worker and beat).
Then `python manage.py migrate` connects as the owner and grants the runtime role.
"""

from __future__ import annotations

import os

import dj_database_url
import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.roles import create_roles, grant_runtime_privileges, hand_database_to_owner


class Command(BaseCommand):
    help = "Create the owner and runtime database roles (needs DATABASE_ADMIN_URL, a superuser)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-url",
            default=os.environ.get("DATABASE_ADMIN_URL", ""),
            help="a superuser's URL for the same database (default: DATABASE_ADMIN_URL)",
        )
        parser.add_argument(
            "--development",
            action="store_true",
            help="let the owner create databases and switch triggers off for bulk loads "
            "(make test, make bench); not for production",
        )

    def handle(self, *args, admin_url: str, development: bool, **options):
        """Create both roles, hand the database over to the owner, grant the runtime role."""
        owner, runtime = settings.DATABASE_OWNER, settings.DATABASES["default"]
        if not admin_url:
            raise CommandError("Set DATABASE_ADMIN_URL (or --admin-url) to a superuser's URL.")
        if not owner:
            raise CommandError("Set DATABASE_OWNER_URL to the owner role's URL.")
        if owner["USER"] == runtime["USER"]:
            raise CommandError("DATABASE_OWNER_URL and DATABASE_URL must name different users.")
        admin = dj_database_url.parse(admin_url)
        connection = psycopg2.connect(
            dbname=runtime["NAME"],
            user=admin["USER"],
            password=admin["PASSWORD"] or None,
            host=admin["HOST"] or None,
            port=admin["PORT"] or None,
        )
        try:
            connection.autocommit = False
            with connection, connection.cursor() as cursor:
                create_roles(
                    cursor,
                    owner=owner["USER"],
                    owner_password=owner["PASSWORD"],
                    runtime=runtime["USER"],
                    runtime_password=runtime["PASSWORD"],
                    development=development,
                )
                hand_database_to_owner(cursor, owner=owner["USER"], database=runtime["NAME"])
                grant_runtime_privileges(cursor, owner=owner["USER"], runtime=runtime["USER"])
        except psycopg2.Error as error:
            raise CommandError(f"Could not create the roles: {error}") from error
        finally:
            connection.close()
        self.stdout.write(
            f"Roles ready in {runtime['NAME']}: {owner['USER']} owns the schema (migrate), "
            f"{runtime['USER']} is the runtime role (SELECT and INSERT only on the audit log)."
        )
