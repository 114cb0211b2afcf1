"""Every page and endpoint that returns personal data writes an audit row when it is read.

Generated from the declarations in tests/access_matrix.py: a URL declared with `personal`
must, when a role allowed to use it reads its own organisation's object, append at least one
AuditEvent by that user (view, search, disclose or export) naming the person concerned.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db.models import Max

from audit.models import AuditEvent
from tests.access_matrix import (
    DECLARATIONS,
    GET,
    Expect,
    World,
    client_for,
    content,
    perform,
    url_for,
    url_patterns,
    world_in_transaction,
)

READ_ACTIONS = {"view", "search", "disclose", "export"}

world = pytest.fixture(scope="module")(world_in_transaction)

PERSONAL = sorted(
    (pattern.name, role)
    for pattern in url_patterns()
    if (expect := DECLARATIONS.get(pattern.name)) is not None and expect.personal is not None
    for role in sorted(expect.roles)
)


def _own_people(world: World) -> set[int]:
    """Everyone on the acting users' side whose data a page of theirs may show."""
    own = world.own
    return {
        own.person.pk,
        own.escalated_case.person_id,
        own.prosecuted_escalation.referral.case.person_id,
    }


def _names_person(event: AuditEvent, people: set[int]) -> bool:
    found = (event.changes or {}).get("found") or []
    return event.person_id in people or any(pk in people for pk in found)


def test_every_personal_data_url_is_covered() -> None:
    """The generated list is not empty: a declaration error would otherwise pass silently."""
    assert len(PERSONAL) >= 10


@pytest.mark.parametrize(("name", "role"), PERSONAL, ids=[f"{n}-{r}" for n, r in PERSONAL])
def test_reading_personal_data_writes_an_audit_row(
    world: World, db: Any, name: str, role: str
) -> None:
    expect: Expect = DECLARATIONS[name]
    assert expect.personal is not None
    user = world.actors[role]
    last = AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0
    url = url_for(name, expect, world, "own", role)

    response = perform(
        client_for(world, role), expect.surface, expect.personal, url, world.placeholders("own")
    )
    content(response)  # read a streamed answer (the CSV export) to its end, as a browser would

    assert response.status_code == 200, f"{name} as {role}: {response.status_code}"
    rows = list(AuditEvent.objects.filter(id__gt=last, user=user, action__in=READ_ACTIONS))
    assert rows, (
        f"{name} ({url}) returned personal data to a {role} but wrote no audit row "
        "(view, search, disclose or export) by them"
    )
    if expect.audit_person:
        people = _own_people(world)
        written = [(row.action, row.object_type, row.person_id) for row in rows]
        assert any(_names_person(row, people) for row in rows), (
            f"{name} ({url}) as {role}: audit rows {written} name none of the people shown "
            f"({sorted(people)})"
        )


# Not only the declared ones: any page or endpoint whose answer shows one of the people on the
# acting user's side must have audited reading them, so a new page that shows a person and
# forgets the audit fails here even if its declaration forgets `personal`.
SHOWING = sorted(
    (pattern.name, role)
    for pattern in url_patterns()
    if (expect := DECLARATIONS.get(pattern.name)) is not None
    and expect.surface in ("page", "api")
    and GET in expect.calls
    for role in sorted(expect.roles)
)


def _people_named_in(body: str, world: World) -> set[int]:
    own = world.own
    people = {
        own.person,
        own.escalated_case.person,
        own.prosecuted_escalation.referral.case.person,
    }
    # A whole word, not the start of a longer one ("Escalonne" inside "Escalonne-Two").
    return {
        person.pk
        for person in people
        if re.search(rf"(?<![\w-]){re.escape(person.family_name)}(?![\w-])", body)
    }


def test_pages_that_may_show_a_person_are_checked() -> None:
    assert len(SHOWING) >= 20


@pytest.mark.parametrize(("name", "role"), SHOWING, ids=[f"{n}-{r}" for n, r in SHOWING])
def test_a_page_that_shows_a_person_has_audited_reading_them(
    world: World, db: Any, name: str, role: str
) -> None:
    expect: Expect = DECLARATIONS[name]
    user = world.actors[role]
    last = AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0
    url = url_for(name, expect, world, "own", role)

    response = perform(client_for(world, role), expect.surface, GET, url, world.placeholders("own"))
    shown = _people_named_in(content(response).decode(errors="replace"), world)

    rows = AuditEvent.objects.filter(id__gt=last, user=user, action__in=READ_ACTIONS)
    unaudited = {pk for pk in shown if not any(_names_person(row, {pk}) for row in rows)}
    assert not unaudited, (
        f"{name} ({url}) showed people {sorted(unaudited)} to a {role} without an audit row "
        "naming them (view, search, disclose or export)"
    )
