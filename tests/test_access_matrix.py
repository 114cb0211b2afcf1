"""Every URL against every role, on objects of their own and of another organisation.

Generated from the URL configuration: a new page or endpoint fails here until it has a
declaration in tests/access_matrix.py. See that module for the rules checked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus

import pytest
from django.http import HttpResponse
from django.utils.html import escape

from tests.access_matrix import (
    ADMINISTRATOR,
    ANONYMOUS,
    ANONYMOUS_STATUS,
    DECLARATIONS,
    DENIED,
    LOGIN_PATH,
    ROLES,
    Call,
    Expect,
    Pattern,
    World,
    admin_registers_personal_data,
    changed,
    client_for,
    content,
    fill,
    perform,
    snapshot,
    url_for,
    url_patterns,
    world_in_transaction,
)

PATTERNS = url_patterns()
WRITE_REFUSALS_BY_RULES = {400, 409}
GOOD = {200, 201, 204, 302}

world = pytest.fixture(scope="module")(world_in_transaction)


def _undeclared() -> list[str]:
    return [f"{p.name} ({p.route})" for p in PATTERNS if p.name not in DECLARATIONS]


def test_every_url_pattern_has_a_declared_expectation() -> None:
    missing = _undeclared()
    assert not missing, (
        "These URL patterns have no declared expectation in tests/access_matrix.py "
        "(DECLARATIONS): say who may use each, what its arguments name, and whether it "
        "returns personal data:\n  " + "\n  ".join(missing)
    )


def test_no_declaration_names_a_pattern_that_is_gone() -> None:
    names = {p.name for p in PATTERNS}
    stale = sorted(set(DECLARATIONS) - names)
    assert not stale, f"Declared but no longer in the URL configuration: {stale}"


def test_admin_registers_no_model_holding_personal_data() -> None:
    assert admin_registers_personal_data() == []


@pytest.mark.parametrize("role", ROLES)
def test_only_administrators_get_into_the_admin(world: World, db: Any, role: str) -> None:
    response = client_for(world, role).get("/admin/")
    if role == ADMINISTRATOR:
        assert response.status_code == 200
    else:
        assert response.status_code == 302, response.status_code
        assert response["Location"].startswith("/admin/login/")


def _is_login_redirect(response: HttpResponse) -> bool:
    return response.status_code == 302 and response["Location"].startswith(LOGIN_PATH)


def _judge(expect: Expect, role: str, side: str, call: Call, response: HttpResponse) -> str:
    """What is wrong with one answer, or "" if it is what the declaration says."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if expect.surface == "page" and status == 403:
        return "403 on a page (confirms the object exists): pages answer 404"
    allowed = role in expect.roles
    if role == ANONYMOUS and not allowed:
        if expect.surface == "page":
            return "" if _is_login_redirect(response) else f"{status}, not a redirect to sign in"
        wanted = ANONYMOUS_STATUS[expect.surface]
        return "" if status == wanted else f"{status}, expected {wanted} for anonymous"
    if not allowed:
        wanted = DENIED[expect.surface]
        return "" if status == wanted else f"{status}, expected {wanted} for a role never allowed"
    if side == "missing" or (side == "other" and not expect.national):
        return "" if status == 404 else f"{status}, expected 404 for an object not theirs"
    good = GOOD | WRITE_REFUSALS_BY_RULES if call.writes else GOOD
    if status not in good:
        return f"{status}, expected one of {sorted(good)} for their own object"
    if _is_login_redirect(response) and role != ANONYMOUS and expect.surface != "public":
        return "sent a signed-in user allowed here to sign in"
    return ""


def _forbidden_markers(world: World, expect: Expect, role: str) -> dict[str, str]:
    """The other side's text that must not appear in this role's answers."""
    markers = world.other.markers()
    if expect.national and role in expect.roles:
        return {}
    if expect.national_people:
        markers.pop("family_name")
        markers.pop("escalated_family_name")
    if role not in (*expect.roles, ANONYMOUS) or role in ("analyst", "administrator"):
        # Programmes are not personal data; national roles may list every one.
        markers.pop("programme_name")
    return markers


def _without(body: bytes, *values: str) -> bytes:
    """The body without the given values (as typed, URL-encoded or HTML-escaped)."""
    for value in values:
        for form in {value, quote_plus(value), quote(value), escape(value)}:
            body = body.replace(form.encode(), b"")
    return body


def _comparable(body: bytes, *values: str) -> bytes:
    """The body with the URL's identifiers masked, to compare two 404s."""
    for value in values:
        body = body.replace(value.encode(), b"<id>")
    return body


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("pattern", PATTERNS, ids=str)
def test_access(world: World, db: Any, pattern: Pattern, role: str) -> None:
    expect = DECLARATIONS.get(pattern.name)
    if expect is None:
        pytest.fail(
            f"URL pattern {pattern.name} ({pattern.route}) has no declared expectation in "
            "tests/access_matrix.py: add it to DECLARATIONS."
        )
    if expect.surface == "admin":
        return  # test_only_administrators_get_into_the_admin
    client = client_for(world, role)
    problems: list[str] = []
    answers: dict[tuple[str, int], tuple[int, bytes]] = {}
    own_bodies: list[bytes] = []
    sides = ("own", "other", "missing") if expect.args else ("own",)
    markers = _forbidden_markers(world, expect, role)
    for side in sides:
        url = url_for(pattern.name, expect, world, side, role)
        values = [world.value(kind, side, role) for kind in expect.args.values()]
        mapping = world.placeholders(side)
        for index, call in enumerate(expect.calls):
            before = snapshot() if call.writes else None
            response = perform(client, expect.surface, call, url, mapping)
            body = content(response)
            label = f"{call.method.upper()} {url}{call.query} ({side} object) as {role}"
            problem = _judge(expect, role, side, call, response)
            if problem:
                problems.append(f"{label}: {problem}")
            if before is not None and not (side == "own" and role in expect.roles):
                differences = changed(before, snapshot())
                if differences:
                    problems.append(f"{label}: changed {differences} though refused")
            answers[(side, index)] = (response.status_code, _comparable(body, *values))
            if side == "own":
                own_bodies.append(body)
                # A search box shows what was searched for: that echo is not a leak.
                echoed = [v for _, v in parse_qsl(fill(call.query, mapping).lstrip("?"))]
                body = _without(body, *echoed)
                leaked = [key for key, text in markers.items() if text.encode() in body]
                if leaked:
                    problems.append(f"{label}: shows the other organisation's {leaked}")
    if expect.args and not (expect.national and role in expect.roles):
        for index, call in enumerate(expect.calls):
            other, missing = answers[("other", index)], answers[("missing", index)]
            if other[0] != missing[0]:
                problems.append(
                    f"{call.method.upper()} as {role}: another organisation's object answers "
                    f"{other[0]} but a missing one {missing[0]}: the difference tells it exists"
                )
            elif expect.surface == "api" and other[1] != missing[1]:
                problems.append(
                    f"{call.method.upper()} as {role}: another organisation's object and a "
                    f"missing one get different bodies: {other[1][:200]!r} / {missing[1][:200]!r}"
                )
    if expect.shows and role in expect.roles:
        own_marker = world.own.markers()[expect.shows].encode()
        if not any(own_marker in body for body in own_bodies):
            problems.append(f"as {role}: the list never shows their own {expect.shows}")
    assert not problems, f"{pattern.name} ({pattern.route}):\n  " + "\n  ".join(problems)
