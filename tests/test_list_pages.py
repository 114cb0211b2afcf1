"""Long lists at national scale: counts stop at a cap, page links are a short window, any
page number typed gives a normal page with a clear message, and unusable searches say why."""

from __future__ import annotations

import pytest

from base.paging import LIST_CAP, PageLink, list_page, page_window
from cases.models import Case
from tests import factories


def test_the_window_shows_first_last_and_neighbours_with_gaps() -> None:
    assert page_window(1, 1) == [PageLink(1, current=True)]
    assert page_window(5, 40) == [
        PageLink(1),
        PageLink(None),
        PageLink(4),
        PageLink(5, current=True),
        PageLink(6),
        PageLink(None),
        PageLink(40),
    ]
    assert [link.number for link in page_window(2, 4)] == [1, 2, 3, 4]
    assert [link.number for link in page_window(1, 3)] == [1, 2, 3]
    assert [link.number for link in page_window(3, 5)] == [1, 2, 3, 4, 5]
    assert [link.number for link in page_window(1, 5)] == [1, 2, None, 5]


@pytest.fixture
def thirty_cases(officer):
    return [factories.CaseFactory(created_by=officer) for _ in range(30)]


@pytest.mark.parametrize(
    ("typed", "shown", "notice"),
    [
        (None, 1, ""),
        ("2", 2, ""),
        ("3", 2, "There is no page 3: showing page 2."),
        ("0", 1, "There is no page 0: showing page 1."),
        ("-4", 1, "There is no page -4: showing page 1."),
        ("two", 1, "There is no page two: showing page 1."),
    ],
)
def test_any_page_number_gives_a_page_and_says_when_it_was_not_there(
    thirty_cases, typed, shown, notice
) -> None:
    page = list_page(Case.objects.order_by("id"), typed, per_page=25, noun="cases")
    assert (page.number, page.notice) == (shown, notice)
    assert page.paginator.count_label == "30" and not page.paginator.capped


def test_a_count_past_the_cap_is_shown_as_more_than_and_deep_pages_ask_for_a_search(
    thirty_cases, monkeypatch
) -> None:
    monkeypatch.setattr("base.paging.LIST_CAP", 20)
    page = list_page(Case.objects.order_by("id"), "9", per_page=5, noun="cases")
    assert page.paginator.count_label == "More than 20"
    assert page.number == 4  # the last page within the first 20
    assert page.notice == (
        "Only the first 20 cases are listed: search or filter to find the others. Showing page 4."
    )
    assert LIST_CAP == 1000


def test_case_list_pages_never_count_past_the_cap(client, officer, thirty_cases) -> None:
    client.force_login(officer)
    page = client.get("/cases/", {"page": "7"}).content.decode()
    assert "30 cases" in page
    assert "There is no page 7: showing page 2." in page


@pytest.mark.parametrize("query", ["a", "!!", "-", "É"])
def test_a_search_too_short_to_mean_a_name_says_so_and_finds_nothing(client, officer, query):
    factories.CaseFactory(created_by=officer)
    client.force_login(officer)
    response = client.get("/cases/", {"q": query})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter at least 2 letters of a name, or a case, custody or crime reference." in page
    assert response.context["page_obj"].paginator.count == 0


def test_a_case_reference_is_found_exactly_in_any_letter_case(client, officer) -> None:
    wanted, other = (factories.CaseFactory(created_by=officer) for _ in range(2))
    client.force_login(officer)
    response = client.get("/cases/", {"q": wanted.reference.lower()})
    assert [case.reference for case in response.context["page_obj"]] == [wanted.reference]
    assert other.reference not in response.content.decode()


def test_a_long_search_is_cut_to_100_characters_and_answers_normally(client, officer) -> None:
    client.force_login(officer)
    response = client.get("/cases/", {"q": "x" * 200})
    assert response.status_code == 200
    assert response.context["query"] == "x" * 100


def test_a_name_search_lists_the_closest_names_first_whatever_their_spelling(
    client, officer
) -> None:
    def case_of(given_name: str, family_name: str) -> Case:
        person = factories.PersonFactory(given_name=given_name, family_name=family_name)
        return factories.CaseFactory(created_by=officer, person=person)

    # Oldest first, so that newest-first would list them the other way round.
    exact = case_of("Siân", "O'Brien-Jones")
    one_letter_wrong = case_of("Sian", "OBrien-Jonas")
    unrelated = case_of("Gareth", "Williams")
    client.force_login(officer)
    response = client.get("/cases/", {"q": "  sian  o brien jones "})
    listed = [case.reference for case in response.context["page_obj"]]
    assert listed == [exact.reference, one_letter_wrong.reference]
    assert unrelated.reference not in response.content.decode()


def test_my_cases_lists_only_the_cases_the_officer_logged_with_their_next_step(client, officer):
    colleague = factories.UserFactory(force=officer.force)
    mine = factories.CaseFactory(created_by=officer, status="eligible")
    theirs = factories.CaseFactory(created_by=colleague, status="referred")
    client.force_login(officer)

    everything = client.get("/cases/").content.decode()
    own = client.get("/cases/?cases=mine").content.decode()

    assert mine.reference in everything and theirs.reference in everything
    assert mine.reference in own and theirs.reference not in own
    assert "Make the offer" in own
    assert "Provider to take the referral on" in everything
    assert 'aria-current="page" href="/cases/?cases=mine"' in own
    searched = client.get(f"/cases/?cases=mine&q={theirs.reference}").content.decode()
    assert "No cases match your search." in searched


def test_every_status_has_a_next_step():
    from cases.models import CaseStatus
    from cases.rules import NEXT_STEP

    assert set(NEXT_STEP) == set(CaseStatus.values)
