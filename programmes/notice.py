"""The notice handed to the person at referral: what they agreed to, who runs the programme and
how to reach them, the deadlines, and what happens if they do not take part. In the person's
language (Welsh first, then English, for someone who prefers Welsh), printed by the officer
or, where the person chose email, sent through the outbox."""

from __future__ import annotations

import re

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import strip_tags

from accounts.models import User
from audit.services import audit_record
from base.errors import DomainError
from cases.models import Case, ContactPreference, Language
from programmes.models import Referral, ReferralStatus
from programmes.notifications import OutboxMessage, outbox_queue

# A notice is for a referral the person still has to act on.
NOTICE_STATUSES = frozenset(
    {ReferralStatus.NEW, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS}
)
LANGUAGES = {Language.WELSH: ("cy", "en-gb"), Language.ENGLISH: ("en-gb",)}
SUBJECT = {
    "en-gb": "Your drug diversion programme: what you agreed to and by when",
    "cy": "Eich rhaglen dargyfeirio cyffuriau: beth y cytunoch iddo ac erbyn pryd",
}


def notice_referral(case: Case) -> Referral | None:
    """The referral a notice is for: the case's latest one the person still has to act on."""
    return (
        case.referrals.filter(status__in=NOTICE_STATUSES)
        .select_related("programme__provider", "referred_by")
        .order_by("-referred_at", "-id")
        .first()
    )


def notice_context(referral: Referral, case: Case) -> dict:
    """What the notice says, and in which languages, in order."""
    return {
        "referral": referral,
        "case": case,
        "person": case.person,
        "programme": referral.programme,
        "provider": referral.programme.provider,
        "languages": LANGUAGES.get(case.person.preferred_language, ("en-gb",)),
    }


def notice_text(referral: Referral, case: Case) -> str:
    """The notice as plain text, for email: the same words as the printed page."""
    html = render_to_string("programmes/notice/body.html", notice_context(referral, case))
    lines = (line.strip() for line in strip_tags(html).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def notice_send(*, referral: Referral, case: Case, by: User) -> bool:
    """Email the notice to the person, once per referral; False if it was sent already."""
    person = case.person
    if person.contact_preference != ContactPreference.EMAIL or not person.email:
        raise DomainError(
            "The person did not choose email, or gave no email address: print the notice and "
            "hand it to them."
        )
    languages = LANGUAGES.get(person.preferred_language, ("en-gb",))
    queued = outbox_queue(
        [
            OutboxMessage(
                kind="referral_notice",
                channel="email",
                recipient=person.email,
                subject=" / ".join(SUBJECT[code] for code in languages),
                body=notice_text(referral, case),
                dedupe_key=f"referral-notice-{referral.pk}",
                referral_id=referral.pk,
            )
        ],
        now=timezone.now(),
    )
    if queued:
        audit_record(
            user=by,
            action="disclose",
            obj=referral,
            object_id=referral.reference,
            person_id=person.pk,
            changes={"sent": "referral_notice", "channel": "email"},
        )
    return bool(queued)
