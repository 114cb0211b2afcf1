"""Pages for a force's supervisors: the escalation queue, one escalation with its decision, and
the printable case summary for the prosecution file. Thin: each parses input, calls one
selector or service, and renders; DomainError becomes an error on the form.

Every lookup goes through escalations_visible_to / escalation_get (escalations.py), so another
force's escalation is a 404, and only a supervisor of a force reaches these pages at all.
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core import signing
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from audit.services import audit_many
from base.clock import london_date, london_day_in_words
from base.errors import DomainError
from base.pages import supervisor_required
from base.paging import LIST_CAP, list_page
from cases.models import Exclusion
from cases.selectors import latest_decision
from cases.timeline import case_timeline
from escalations.breaches import Breach, Fact
from escalations.forms import DECISION_HINTS, DecisionForm
from escalations.models import Escalation
from escalations.rules import SUMMARY, escalation_actions_for
from escalations.selectors import (
    WAITING_SHOWN,
    escalation_get,
    escalation_queue,
    escalation_shown,
    escalations_visible_to,
    queue_totals,
    waiting_on_others,
)
from escalations.services import DecisionChecked, escalation_decide, escalation_decision_check
from programmes.models import Programme
from programmes.rules import ACCEPT_WITHIN_WORKING_DAYS
from programmes.selectors import (
    appointments_for,
    concerns_for,
    programmes_serving,
    referrals_for_case,
    report_for,
    report_of,
)

QUEUE_TABS = {"open": "Open", "decided": "Decided"}
PAGE_SIZE = 25


def _days_since(moment: datetime, now: datetime) -> int:
    """Whole calendar days in London from `moment` to `now`."""
    return (london_date(now) - london_date(moment)).days


@supervisor_required
def queue(request: HttpRequest) -> HttpResponse:
    """The dashboard: how many escalations are open, and the queue filtered by rule, programme."""
    user = request.user
    tab = request.GET.get("tab", "open")
    if tab not in QUEUE_TABS:
        tab = "open"
    rule = request.GET.get("rule", "")
    if rule not in Escalation.Rule.values:
        rule = ""
    programmes = list(programmes_serving(user.force_id))
    programme = request.GET.get("programme", "")
    programme_id = int(programme) if programme.isdigit() else None
    if programme_id not in {p.pk for p in programmes}:
        programme, programme_id = "", None
    now = timezone.now()
    totals = queue_totals(user, today=london_date(now))
    counts = {
        "open": totals.open,
        "decided": totals.decided if totals.decided <= LIST_CAP else f"{LIST_CAP:,}+",
    }
    escalations = escalation_queue(user, tab=tab, rule=rule, programme_id=programme_id)
    page = list_page(escalations, request.GET.get("page"), per_page=PAGE_SIZE, noun="escalations")
    audit_many(
        user=user,
        action="view",
        object_type="escalations.escalation",
        rows=[(str(escalation.pk), escalation.referral.case.person_id) for escalation in page],
    )
    for escalation in page:
        escalation.days_open = _days_since(escalation.flagged_at, now)
    filters = {"rule": rule, "programme": programme}
    tabs = [
        {
            "key": key,
            "label": label,
            "count": counts[key],
            "href": "?" + urlencode({"tab": key, **{k: v for k, v in filters.items() if v}}),
            "current": key == tab,
        }
        for key, label in QUEUE_TABS.items()
    ]
    context = {
        "page_obj": page,
        "tab": tab,
        "tabs": tabs,
        "open_count": totals.open,
        "oldest_days": _days_since(totals.oldest, now) if totals.oldest else None,
        "rule": rule,
        "rules": Escalation.Rule.choices,
        "programme": programme,
        "programmes": programmes,
        "filtered": bool(rule or programme),
        "offers_waiting": totals.offers_waiting,
        "referrals_waiting": totals.referrals_waiting,
        "accept_within": ACCEPT_WITHIN_WORKING_DAYS,
    }
    return render(request, "escalations/queue.html", context)


@supervisor_required
def waiting(request: HttpRequest) -> HttpResponse:
    """The force's offers waiting for the person's answer and referrals a provider has not
    taken on in time, oldest first, each linking to its case."""
    now = timezone.now()
    shown = waiting_on_others(request.user, today=london_date(now))
    audit_many(
        user=request.user,
        action="view",
        object_type="cases.case",
        rows=[(case.reference, case.person_id) for case in shown.offers]
        + [(r.case.reference, r.case.person_id) for r in shown.referrals],
    )
    for case in shown.offers:
        case.days_waiting = _days_since(case.offered_at or case.created_at, now)
    for referral in shown.referrals:
        referral.days_waiting = _days_since(referral.referred_at, now)
    context = {
        "waiting": shown,
        "shown": WAITING_SHOWN,
        "accept_within": ACCEPT_WITHIN_WORKING_DAYS,
    }
    return render(request, "escalations/waiting.html", context)


def rule_facts(escalation: Escalation) -> list[Fact]:
    """Every rule that fired when the escalation was flagged, with the facts that made it fire."""
    breach = Breach.from_facts(escalation.facts, rule=escalation.rule)
    return breach.explain(
        named=escalation.rule,
        late_counts_as_attended=escalation.referral.policy.late_counts_as_attended,
    )


def _programmes_to_re_refer(escalation: Escalation) -> QuerySet[Programme]:
    """Programmes serving the case's force, except the one the person is referred to now."""
    referral = escalation.referral
    return programmes_serving(referral.case.force_id).exclude(pk=referral.programme_id)


def _decided_message(escalation: Escalation) -> str:
    """What the decision did, for the success banner."""
    case = escalation.referral.case
    match escalation.decision:
        case Escalation.Decision.PROSECUTE:
            return f"Decision recorded: case {case.reference} is closed as referred for prosecution"
        case Escalation.Decision.EXTEND:
            new_deadline = london_day_in_words(escalation.new_deadline)
            return (
                f"Decision recorded: the deadline is extended to {new_deadline} and the case is "
                "back with the programme"
            )
        case Escalation.Decision.RE_REFER:
            return (
                f"Decision recorded: case {case.reference} is re-referred to "
                f"{escalation.new_programme.name}"
            )
    return f"Decision recorded: case {case.reference} is closed with no further action"


CHECK_SALT = "escalations.decision-check"
CHECK_MAX_AGE = 30 * 60  # as long as an idle session lasts
DRAFTS = "escalation_drafts"  # the session's answers, for the check page's "Change" links


def _answers(checked: DecisionChecked) -> dict[str, object]:
    return {
        "decision": checked.decision,
        "rationale": checked.rationale,
        "new_deadline": checked.new_deadline.isoformat() if checked.new_deadline else None,
        "new_programme": checked.new_programme.pk if checked.new_programme else None,
    }


def _draft_form_data(answers: dict[str, object]) -> dict[str, str]:
    """The decision form's POST data for answers kept in the session (to change them)."""
    data = {"decision": answers["decision"], "rationale": answers["rationale"]}
    if answers.get("new_deadline"):
        day = date.fromisoformat(answers["new_deadline"])
        data.update(
            new_deadline_day=str(day.day),
            new_deadline_month=str(day.month),
            new_deadline_year=str(day.year),
        )
    if answers.get("new_programme"):
        data["new_programme"] = str(answers["new_programme"])
    return data


def _consequences(checked: DecisionChecked, escalation: Escalation) -> list[str]:
    """What recording the decision will do, in the order it happens."""
    referral = escalation.referral
    case = referral.case
    withdrawn = (
        f"The referral {referral.reference} to {referral.programme.name} "
        f"({referral.programme.provider.name}) is withdrawn: its future appointments are "
        "cancelled and the provider is told."
    )
    match checked.decision:
        case Escalation.Decision.PROSECUTE:
            return [
                withdrawn,
                f"Case {case.reference} closes as referred for prosecution: it goes back to "
                "the standard process for a charging decision.",
                "A printable case summary is made for the prosecution file.",
            ]
        case Escalation.Decision.EXTEND:
            policy = referral.policy
            return [
                f"The missed deadline moves to the end of "
                f"{london_day_in_words(checked.moved_deadline)}.",
                f"The case goes back to the programme with {referral.programme.provider.name}.",
                f"This uses extension {checked.extensions_after} of the "
                f"{policy.max_extensions} the scheme allows.",
            ]
        case Escalation.Decision.RE_REFER:
            return [
                withdrawn,
                f"A new referral is made to {checked.new_programme.name} "
                f"({checked.new_programme.provider.name}), with new deadlines under the "
                "scheme's policy.",
                f"Case {case.reference} stays open.",
            ]
    return [
        withdrawn,
        f"Case {case.reference} closes with no further action: the person is not prosecuted "
        "for this offence.",
    ]


def _decide_confirmed(request: HttpRequest, escalation: Escalation) -> str:
    """Record the decision the supervisor checked and confirmed; the error to show, if any.

    The answers come from the signed confirmation (exactly what the check page showed, never
    re-typed), with the state they were checked against: a confirmation that is forged,
    expired, or made before the case changed is refused, and nothing is recorded."""
    try:
        confirmed = signing.loads(
            request.POST.get("confirmation", ""), salt=CHECK_SALT, max_age=CHECK_MAX_AGE
        )
        if confirmed["escalation"] != escalation.pk:
            raise signing.BadSignature
    except (signing.BadSignature, KeyError, TypeError):
        return (
            "This confirmation is not valid or has expired: check your decision again before "
            "recording it."
        )
    answers = confirmed["answers"]
    programme = None
    if answers["new_programme"]:
        programme = _programmes_to_re_refer(escalation).filter(pk=answers["new_programme"]).first()
    try:
        decided = escalation_decide(
            escalation=escalation,
            by=request.user,
            decision=answers["decision"],
            rationale=answers["rationale"],
            new_deadline=(
                date.fromisoformat(answers["new_deadline"]) if answers["new_deadline"] else None
            ),
            new_programme=programme,
            state_seen=confirmed["state"],
        )
    except DomainError as error:
        return error.message
    request.session.get(DRAFTS, {}).pop(str(escalation.pk), None)
    request.session.modified = True
    messages.success(request, _decided_message(decided))
    return ""


@supervisor_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One escalation: the rule that fired, deadlines, attendance, history, and the decision.

    Deciding takes two steps (the GOV.UK check-answers pattern): the form is checked by the
    same function the service uses, then a check page spells out what the decision will do,
    and only its confirmation records it.
    """
    escalation = escalation_get(user=request.user, pk=pk)
    programmes = _programmes_to_re_refer(escalation)
    data = request.POST if request.method == "POST" else None
    drafts = request.session.get(DRAFTS, {})
    if data is None and "change" in request.GET and str(pk) in drafts:
        data = _draft_form_data(drafts[str(pk)])  # back from the check page to change an answer
    form = DecisionForm(data, programmes=programmes)
    if request.method == "POST" and "confirmation" in request.POST:
        problem = _decide_confirmed(request, escalation)
        if not problem:
            return redirect(reverse("escalations:detail", args=[escalation.pk]) + "#decision")
        draft = drafts.get(str(pk))
        form = DecisionForm(_draft_form_data(draft) if draft else {}, programmes=programmes)
        form.is_valid()
        form.add_error(None, problem)
        escalation = escalation_get(user=request.user, pk=pk)  # as it is now
    elif request.method == "POST" and form.is_valid():
        try:
            checked = escalation_decision_check(
                escalation=escalation, by=request.user, **form.cleaned_data
            )
        except DomainError as error:
            error.show_on(form, {"programme": "new_programme"})
            # Decided meanwhile (another tab, another supervisor): show that decision.
            escalation = escalation_get(user=request.user, pk=pk)
        else:
            drafts[str(pk)] = _answers(checked)
            request.session[DRAFTS] = drafts
            escalation = escalation_shown(user=request.user, pk=escalation.pk)
            confirmation = signing.dumps(
                {"escalation": escalation.pk, "answers": _answers(checked), "state": checked.state},
                salt=CHECK_SALT,
            )
            return render(
                request,
                "escalations/check_decision.html",
                {
                    "escalation": escalation,
                    "case": escalation.referral.case,
                    "checked": checked,
                    "decision_label": Escalation.Decision(checked.decision).label,
                    "consequences": _consequences(checked, escalation),
                    "final": checked.decision
                    in (Escalation.Decision.PROSECUTE, Escalation.Decision.NO_FURTHER_ACTION),
                    "confirmation": confirmation,
                },
            )
    escalation = escalation_shown(user=request.user, pk=escalation.pk)
    referral = escalation.referral
    case = referral.case
    actions = escalation_actions_for(escalation, request.user)
    decisions = [
        {
            "value": value,
            "label": label,
            "hint": DECISION_HINTS[Escalation.Decision(value)],
            "radio": radio,
        }
        for (value, label), radio in zip(Escalation.Decision.choices, form["decision"], strict=True)
        if value in actions
    ]
    flagged = Breach.from_facts(escalation.facts, rule=escalation.rule)
    context = {
        "escalation": escalation,
        "referral": referral,
        "case": case,
        "person": case.person,
        "policy": referral.policy,
        "facts": rule_facts(escalation),
        # The provider's account, beside the breach (programmes: notes marked as a concern).
        "concerns": concerns_for(referral),
        "report": report_for(referral),
        "flagged_first_due": flagged.first_appointment_due,
        "flagged_completion_due": flagged.completion_due,
        "appointments": appointments_for(referral),
        "timeline": case_timeline(case),
        "form": form,
        "decisions": decisions,
        "actions": actions,
        "extensions_left": max(referral.policy.max_extensions - referral.extensions, 0),
    }
    return render(request, "escalations/detail.html", context)


@supervisor_required
def summary(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable case summary for the prosecution file, once the decision is to prosecute."""
    escalation = escalation_get(user=request.user, pk=pk)
    if SUMMARY not in escalation_actions_for(escalation, request.user):
        raise Http404("No case summary: the decision was not to prosecute")
    escalation = escalation_shown(
        user=request.user, pk=pk, action="export", reason="Case summary for the prosecution file"
    )
    referral = escalation.referral
    case = referral.case
    earlier = (
        escalations_visible_to(request.user)
        .filter(referral__case=case, decided_at__isnull=False)
        .exclude(pk=escalation.pk)
        .select_related("referral", "decided_by", "new_programme")
        .order_by("flagged_at", "id")
    )
    referrals = list(referrals_for_case(case))
    for item in referrals:
        item.concerns = concerns_for(item)
        item.report_filed = report_of(item)
    context = {
        "escalation": escalation,
        "referral": referral,
        "case": case,
        "person": case.person,
        "eligibility": latest_decision(case),
        "offer": case.offers.select_related("offered_by").first(),
        "referrals": referrals,
        "facts": rule_facts(escalation),
        "earlier": list(earlier),
        "circumstances": [Exclusion(c).label for c in case.circumstances],
        "generated_at": timezone.now(),
    }
    return render(request, "escalations/summary.html", context)
