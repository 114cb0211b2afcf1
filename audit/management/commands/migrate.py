"""`migrate` as the owner role, then the runtime role's privileges granted again.

With DATABASE_OWNER_URL set, the schema changes run as the owner (the runtime role of
DATABASE_URL may not change the schema), and afterwards every table is granted to the
runtime role, the audit table for SELECT and INSERT only (audit/roles.py). Unset, this is
Django's migrate as it is.
"""

from __future__ import annotations

from django.core.management.commands import migrate
from django.db import connections

from audit.roles import as_owner, grant_runtime_privileges


class Command(migrate.Command):
    help = migrate.Command.help + " Runs as the owner role when DATABASE_OWNER_URL is set."

    def handle(self, *args, **options):
        """Migrate as the owner, then grant the runtime role its privileges."""
        alias = options["database"]
        with as_owner(alias) as runtime:
            super().handle(*args, **options)
            if runtime:
                connection = connections[alias]
                with connection.cursor() as cursor:
                    grant_runtime_privileges(
                        cursor, owner=connection.settings_dict["USER"], runtime=runtime
                    )
