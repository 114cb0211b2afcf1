"""Pages for the custody officer's journey: find or add the person, log the case, check
eligibility, record the offer and refer. Thin: each parses input, calls one selector or
service, and renders; DomainError becomes an error on the form or the page."""

from __future__ import annotations

import time

from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from audit.services import audit_many, audit_record
from base.errors import DomainError
from base.pages import force_staff_required
from base.paging import list_page
from cases import forms, replay, rules, selectors, services
from cases.extensions import case_flags, case_sections
from cases.models import CaseStatus, Exclusion, Offer, Person
from cases.timeline import case_timeline

PERSON_TOKEN_SALT = "cases.person-choice"  # noqa: S105 (a namespace, not a secret)
PERSON_TOKEN_MAX_AGE = 4 * 60 * 60


def _person_token(person: Person) -> str:
    # A signed token, not a raw id, so a person cannot be opened by guessing numbers.
    return signing.dumps(person.pk, salt=PERSON_TOKEN_SALT)


def _person_from_token(token: str, user) -> Person:
    try:
        pk = signing.loads(token, salt=PERSON_TOKEN_SALT, max_age=PERSON_TOKEN_MAX_AGE)
    except signing.BadSignature as error:
        raise Http404("No such person") from error
    person = selectors.people_available_to(user).filter(pk=pk).first()
    if person is None:
        raise Http404("No such person")
    return person


@force_staff_required
def case_list(request: HttpRequest) -> HttpResponse:
    """The force's cases, newest first, searchable by name or reference."""
    search = selectors.case_search(request.GET.get("q", ""))
    query = search.text
    status = request.GET.get("status", "")
    if status not in CaseStatus.values:
        status = ""
    mine = request.GET.get("cases") == "mine"
    cases = selectors.case_list(user=request.user, query=query, status=status, mine=mine)
    page = list_page(cases, request.GET.get("page"), per_page=25, noun="cases")
    for case in page:
        case.next_step = rules.NEXT_STEP[case.status]
    if query:
        # Not the words typed (often a name): the audit log outlives personal data. The cases
        # shown are each recorded below.
        audit_record(
            user=request.user,
            action="search",
            object_type="cases.case",
            changes={"results": page.paginator.count},
        )
    audit_many(
        user=request.user,
        action="view",
        object_type="cases.case",
        rows=[(case.reference, case.person_id) for case in page],
    )
    flags = case_flags([case.pk for case in page])
    for case in page:
        case.flags = flags.get(case.pk, [])
    return render(
        request,
        "cases/case_list.html",
        {
            "page_obj": page,
            "query": query,
            "search_problem": search.problem,
            "status": status,
            "statuses": CaseStatus.choices,
            "mine": mine,
        },
    )


@force_staff_required
def find_person(request: HttpRequest) -> HttpResponse:
    """Step 1 of logging a case: search for the person, then choose a match or add them."""
    form = forms.FindPersonForm(request.POST or None)
    found: list[Person] = []
    exact = searched = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        matches = selectors.people_search(
            user=request.user,
            given_name=data["given_name"],
            family_name=data["family_name"],
            date_of_birth=data["date_of_birth"],
            pnc_id=data["pnc_id"],
        )
        found = [matches.exact] if matches.exact else matches.possible
        exact = matches.exact is not None
        searched = True
        for person in found:
            person.token = _person_token(person)
        request.session["person_search"] = {
            "given_name": data["given_name"],
            "family_name": data["family_name"],
            "date_of_birth": data["date_of_birth"].isoformat(),
            "pnc_id": data["pnc_id"],
        }
    return render(
        request,
        "cases/find_person.html",
        {"form": form, "found": found, "exact": exact, "searched": searched},
    )


@force_staff_required
def add_person(request: HttpRequest) -> HttpResponse:
    """Add a person not found by the search, then go on to log their case."""
    if request.method == "POST":
        form = forms.PersonForm(request.POST)
        if form.is_valid():
            try:
                person = services.person_create(by=request.user, **form.cleaned_data)
            except DomainError as error:
                error.show_on(form)
            else:
                request.session.pop("person_search", None)  # no personal data left behind
                return redirect("cases:create", token=_person_token(person))
    else:
        form = forms.PersonForm(initial=request.session.get("person_search", {}))
    return render(request, "cases/add_person.html", {"form": form})


@force_staff_required
def case_create(request: HttpRequest, token: str) -> HttpResponse:
    """Step 2: record the offence and the drugs found for the chosen person."""
    person = _person_from_token(token, request.user)
    if request.method == "POST":
        form = forms.CaseForm(request.POST)
        formset = forms.DrugFormSet(request.POST, prefix="drugs")
        if form.is_valid() and formset.is_valid():
            drugs = [
                services.DrugQuantity(drug=row["drug"], quantity=row["quantity"])
                for row in formset.cleaned_data
                if row
            ]
            try:
                case = services.case_create(
                    by=request.user, person=person, drugs=drugs, **form.cleaned_data
                )
            except DomainError as error:
                if error.field == "drugs":
                    formset._non_form_errors = formset.error_class(
                        [error.message], renderer=formset.renderer
                    )
                else:
                    error.show_on(form)
            else:
                messages.success(request, f"Case {case.reference} logged")
                return redirect("cases:detail", reference=case.reference)
    else:
        form = forms.CaseForm(initial={"resides_in_force_area": True})
        formset = forms.DrugFormSet(prefix="drugs")
    audit_record(user=request.user, action="view", obj=person, person_id=person.pk)
    return render(
        request,
        "cases/case_form.html",
        {"form": form, "formset": formset, "person": person},
    )


@force_staff_required
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The case page: the person, the offence, eligibility, the offer, the referral, history.

    A closed case is opened only with a reason, asked once and kept for half an hour; the
    reason goes into the audit row of every view it covers.
    """
    try:
        case = selectors.case_shown(
            user=request.user, reference=reference, reason=_closed_case_reason(request, reference)
        )
    except selectors.ClosedCaseNeedsReason as closed:
        form = forms.ClosedCaseReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            _grant_closed_case(request, closed.case, form.cleaned_data["reason"])
            return redirect("cases:detail", reference=closed.case.reference)
        return render(request, "cases/closed_case_reason.html", {"case": closed.case, "form": form})
    decision = selectors.latest_decision(case)
    offer = case.offers.first()
    context = {
        "case": case,
        "person": case.person,
        "decision": decision,
        "offer": offer,
        "timeline": case_timeline(case),
        "circumstances": [Exclusion(c).label for c in case.circumstances],
        "actions": rules.case_actions_for(case, request.user, decision=decision, offer=offer),
        "close_reason": request.session.get(CLOSE_DRAFTS, {}).get(case.reference, ""),
        "flags": case_flags([case.pk]).get(case.pk, []),
    }
    for section in case_sections():
        context.update(section.context(case))
    context["case_sections"] = [section.template for section in case_sections()]
    return render(request, "cases/case_detail.html", context)


@force_staff_required
def decision_replay(request: HttpRequest, reference: str, decision_id: int) -> HttpResponse:
    """Replay one eligibility decision of the case: the same answer and reasons, or what
    differs and why (cases/replay.py)."""
    try:
        decision = selectors.decision_shown(
            user=request.user,
            reference=reference,
            decision_id=decision_id,
            reason=_closed_case_reason(request, reference),
        )
    except selectors.ClosedCaseNeedsReason:
        return redirect("cases:detail", reference=reference)  # which asks for the reason
    return render(
        request,
        "cases/decision_replay.html",
        {
            "case": decision.case,
            "decision": decision,
            "replay": replay.replay(decision),
            "inputs": replay.inputs_shown(decision),
            "rules_version": rules.RULES_VERSION,
            "decisions": selectors.decisions_of(decision.case),
        },
    )


CLOSED_CASE_GRANT_SECONDS = 30 * 60


def _grant_closed_case(request: HttpRequest, case, reason: str) -> None:
    grants = request.session.get("closed_case_reasons", {})
    grants[case.reference] = {"reason": reason, "at": time.time()}
    request.session["closed_case_reasons"] = grants


def _closed_case_reason(request: HttpRequest, reference: str) -> str:
    """The reason given for opening this closed case in the last half hour, if any."""
    grant = request.session.get("closed_case_reasons", {}).get(reference)
    if grant and time.time() - grant["at"] < CLOSED_CASE_GRANT_SECONDS:
        return grant["reason"]
    return ""


@require_POST
@force_staff_required
def eligibility_check(request: HttpRequest, reference: str) -> HttpResponse:
    """Run the eligibility rules and go back to the case page to see the reasons."""
    case = selectors.case_get(user=request.user, reference=reference)
    try:
        decision = services.eligibility_check(case=case, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if decision.eligible:
            messages.success(request, "Eligible for diversion: make the offer below")
        else:
            messages.info(request, "Not eligible for diversion: see the reasons below")
    return redirect(reverse("cases:detail", args=[case.reference]) + "#eligibility")


CLOSE_MAX_AGE = 30 * 60  # how long a check page's confirmation lasts: an idle session's life
OFFER_SALT = "cases.decline-check"
OFFER_DRAFTS = "offer_drafts"  # the answers typed, for the check page's "Change" link


@force_staff_required
def offer(request: HttpRequest, reference: str) -> HttpResponse:
    """Record the offer of diversion and the person's answer and consent.

    A refusal closes the case for the standard process, so it is checked first (the GOV.UK
    check-answers pattern): the check page says what recording it does, and only its
    confirmation records exactly the answers checked, unless the case changed in between.
    """
    try:
        case = selectors.case_shown(user=request.user, reference=reference)
    except selectors.ClosedCaseNeedsReason:
        return redirect("cases:detail", reference=reference)  # which asks for the reason
    pending = case.offers.filter(response=Offer.Response.PENDING).first()
    if rules.OFFER not in rules.case_actions_for(case, request.user, offer=pending):
        messages.info(request, "An offer can only be recorded for an eligible person")
        return redirect("cases:detail", reference=case.reference)
    drafts = request.session.get(OFFER_DRAFTS, {})
    data = request.POST if request.method == "POST" else None
    if data is None and "change" in request.GET and case.reference in drafts:
        data = drafts[case.reference]  # back from the check page to change an answer
    form = forms.OfferForm(data)
    if request.method == "POST" and "confirmation" in request.POST:
        try:
            confirmed = signing.loads(
                request.POST["confirmation"], salt=OFFER_SALT, max_age=CLOSE_MAX_AGE
            )
            if confirmed["case"] != case.reference:
                raise signing.BadSignature
            answers, state = confirmed["answers"], confirmed["state"]
        except (signing.BadSignature, KeyError, TypeError):
            form = forms.OfferForm(drafts.get(case.reference, {"response": ""}))
            form.is_valid()
            form.add_error(
                None, "This confirmation is not valid or has expired: check the answer again."
            )
        else:
            form = forms.OfferForm(drafts.get(case.reference, answers))
            form.is_valid()
            try:
                services.offer_record(
                    case=case,
                    by=request.user,
                    response=Offer.Response.DECLINED,
                    consent_given=answers["consent_given"],
                    notes=answers["notes"],
                    state_seen=state,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                drafts.pop(case.reference, None)
                request.session.modified = True
                messages.success(
                    request, "Offer declined: the case is closed for the standard process"
                )
                return redirect("cases:detail", reference=case.reference)
    elif request.method == "POST" and form.is_valid():
        answers = form.cleaned_data
        if answers["response"] == Offer.Response.DECLINED:
            drafts[case.reference] = {
                "response": answers["response"],
                "consent_given": "on" if answers["consent_given"] else "",
                "notes": answers["notes"],
            }
            request.session[OFFER_DRAFTS] = drafts
            confirmation = signing.dumps(
                {
                    "case": case.reference,
                    "answers": {
                        "consent_given": answers["consent_given"],
                        "notes": answers["notes"],
                    },
                    "state": services.case_offer_state(case),
                },
                salt=OFFER_SALT,
            )
            return render(
                request,
                "cases/check_decline.html",
                {"case": case, "notes": answers["notes"], "confirmation": confirmation},
            )
        try:
            services.offer_record(case=case, by=request.user, **answers)
        except DomainError as error:
            error.show_on(form)
        else:
            messages.success(request, "Offer recorded")
            return redirect("cases:detail", reference=case.reference)
    return render(request, "cases/offer_form.html", {"case": case, "form": form})


@require_POST
@force_staff_required
def override_eligibility(request: HttpRequest, reference: str) -> HttpResponse:
    """A supervisor reverses the latest eligibility decision, giving the reason."""
    case = selectors.case_get(user=request.user, reference=reference)
    form = forms.OverrideForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.eligibility_override(case=case, by=request.user, reason=reason)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Eligibility decision overridden")
    return redirect(reverse("cases:detail", args=[case.reference]) + "#eligibility")


CLOSE_SALT = "cases.close-check"
CLOSE_DRAFTS = "close_drafts"  # the reason typed, for the check page's "Change" link


@require_POST
@force_staff_required
def close_ineligible(request: HttpRequest, reference: str) -> HttpResponse:
    """Close a case found not eligible: it goes through the standard process.

    Two steps (the GOV.UK check-answers pattern): the reason typed on the case page leads to a
    check page that says what closing does, and only its confirmation closes the case, with
    exactly the reason checked, unless the case changed in between.
    """
    case = selectors.case_get(user=request.user, reference=reference)
    if "confirmation" in request.POST:
        try:
            confirmed = signing.loads(
                request.POST["confirmation"], salt=CLOSE_SALT, max_age=CLOSE_MAX_AGE
            )
            if confirmed["case"] != case.reference:
                raise signing.BadSignature
            reason, state = confirmed["reason"], confirmed["state"]
        except (signing.BadSignature, KeyError, TypeError):
            messages.error(
                request,
                "This confirmation is not valid or has expired: check the closing again.",
            )
            return redirect(reverse("cases:detail", args=[case.reference]) + "#close")
        try:
            services.case_close_ineligible(
                case=case, by=request.user, reason=reason, state_seen=state
            )
        except DomainError as error:
            messages.error(request, error.message)
            return redirect(reverse("cases:detail", args=[case.reference]) + "#eligibility")
        request.session.get(CLOSE_DRAFTS, {}).pop(case.reference, None)
        request.session.modified = True
        messages.success(request, "Case closed: standard process")
        return redirect("cases:detail", reference=case.reference)
    form = forms.CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, next(iter(form.errors.values()))[0])
        return redirect(reverse("cases:detail", args=[case.reference]) + "#close")
    reason = form.cleaned_data["reason"].strip()
    decision = selectors.latest_decision(case)
    if rules.CLOSE not in rules.case_actions_for(case, request.user, decision=decision):
        messages.error(
            request,
            f"Case {case.reference} is {case.get_status_display().lower()}: only a case found "
            "not eligible can be closed for the standard process.",
        )
        return redirect("cases:detail", reference=case.reference)
    drafts = request.session.get(CLOSE_DRAFTS, {})
    drafts[case.reference] = reason
    request.session[CLOSE_DRAFTS] = drafts
    audit_record(
        user=request.user,
        action="view",
        obj=case,
        object_id=case.reference,
        person_id=case.person_id,
    )
    return render(
        request,
        "cases/check_close.html",
        {
            "case": case,
            "reason": reason,
            "decision": decision,
            "unmet": [r for r in decision.reasons if not r["passed"]] if decision else [],
            "confirmation": signing.dumps(
                {
                    "case": case.reference,
                    "reason": reason,
                    "state": services.case_close_state(case),
                },
                salt=CLOSE_SALT,
            ),
        },
    )


@force_staff_required
def assign_officer(request: HttpRequest, reference: str) -> HttpResponse:
    """Give the case to an officer of the force, or take it back to unassigned."""
    try:
        case = selectors.case_shown(user=request.user, reference=reference)
    except selectors.ClosedCaseNeedsReason:
        return redirect("cases:detail", reference=reference)  # which asks for the reason
    form = forms.AssignOfficerForm(
        request.POST if request.method == "POST" else None,
        officers=selectors.officers_for(request.user),
        initial={"assigned_to": case.assigned_to_id},
    )
    if request.method == "POST" and form.is_valid():
        to = form.cleaned_data["assigned_to"]
        try:
            services.case_assign(case=case, by=request.user, to=to)
        except DomainError as error:
            error.show_on(form)
        else:
            messages.success(request, f"Case given to {to}" if to else "Case is now unassigned")
            return redirect("cases:detail", reference=case.reference)
    return render(
        request,
        "cases/assign_form.html",
        {
            "case": case,
            "form": form,
            "assignments": selectors.case_assignment_history(case),
        },
        status=400 if form.errors else 200,
    )


def _corrected(request: HttpRequest, case, correction) -> HttpResponse:
    """Back to the case, saying what changed and whether eligibility must be checked again."""
    fields = ", ".join(change["label"].lower() for change in correction.changes)
    if correction.rechecks:
        messages.warning(
            request,
            f"Corrected: {fields}. Eligibility must be checked again for "
            f"{', '.join(correction.rechecks)} before the offer or referral goes on",
        )
    else:
        messages.success(request, f"Corrected: {fields}")
    return redirect(reverse("cases:detail", args=[case.reference]) + "#history")


def _case_to_correct(request: HttpRequest, reference: str):
    """The case, read (and audited) for a correction; None, with the reason said, if closed."""
    try:
        return selectors.case_shown(user=request.user, reference=reference)
    except selectors.ClosedCaseNeedsReason:
        messages.error(request, rules.correction_refusal(CaseStatus.CLOSED, frozenset()))
        return None


@force_staff_required
def person_correct(request: HttpRequest, reference: str) -> HttpResponse:
    """Correct the details of the case's person (as typed when they were added)."""
    case = _case_to_correct(request, reference)
    if case is None:
        return redirect("cases:detail", reference=reference)
    person = case.person
    current = _as_shown(person, services.PERSON_FIELDS)
    form = forms.PersonCorrectionForm(
        request.POST or None, initial={**current, "version": services.version_of(person)}
    )
    stale = ""
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            correction = services.person_correct(person=person, by=request.user, **data)
        except services.RecordChanged as changed:
            person.refresh_from_db()
            form = _shown_again(forms.PersonCorrectionForm, person, services.PERSON_FIELDS, data)
            stale = changed.message
        except DomainError as error:
            error.show_on(form)
        else:
            return _corrected(request, case, correction)
    return render(
        request,
        "cases/correct_person.html",
        {"form": form, "case": case, "person": person, "stale": stale},
    )


def _as_shown(record, names) -> dict:
    """The record's values as a form shows them: a phone number as people write it
    (07700 900123, kept as +447700900123), everything else as stored."""
    return {name: getattr(record, f"{name}_display", getattr(record, name)) for name in names}


def _shown_again(form_class, record, names, data):
    """The form again after someone else's change, unbound: their values, the user's reason and
    the new version, so the user sees what changed and corrects again."""
    initial = _as_shown(record, names)
    return form_class(
        initial={**initial, "reason": data["reason"], "version": services.version_of(record)}
    )


@force_staff_required
def case_correct(request: HttpRequest, reference: str) -> HttpResponse:
    """Correct the offence and the drugs found, as recorded at custody."""
    case = _case_to_correct(request, reference)
    if case is None:
        return redirect("cases:detail", reference=reference)
    current = {name: getattr(case, name) for name in services.CASE_FIELDS}
    drugs = [{"drug": d.drug, "quantity": d.quantity} for d in case.drugs.select_related("drug")]
    form = forms.CaseCorrectionForm(
        request.POST or None, initial={**current, "version": services.version_of(case)}
    )
    formset = forms.DrugFormSet(request.POST or None, prefix="drugs", initial=drugs)
    stale = ""
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = dict(form.cleaned_data)
        found = [
            services.DrugQuantity(drug=row["drug"], quantity=row["quantity"])
            for row in formset.cleaned_data
            if row
        ]
        try:
            correction = services.case_correct(case=case, by=request.user, drugs=found, **data)
        except services.RecordChanged as changed:
            case.refresh_from_db()
            form = _shown_again(forms.CaseCorrectionForm, case, services.CASE_FIELDS, data)
            drugs = [
                {"drug": d.drug, "quantity": d.quantity} for d in case.drugs.select_related("drug")
            ]
            formset = forms.DrugFormSet(prefix="drugs", initial=drugs)
            stale = changed.message
        except DomainError as error:
            if error.field == "drugs":
                formset._non_form_errors = formset.error_class(
                    [error.message], renderer=formset.renderer
                )
            else:
                error.show_on(form)
        else:
            return _corrected(request, case, correction)
    return render(
        request,
        "cases/correct_case.html",
        {"form": form, "formset": formset, "case": case, "stale": stale},
    )
