"""The breach rule: which deadline rules an open referral breaks at a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReferralProgress:
    """What the deadline rules need to know about one open referral."""

    first_appointment_due: datetime
    completion_due: datetime
    attended_by_first_deadline: int
    unexcused_absences: int
    max_unexcused_absences: int


# When several rules fire at once, the escalation names the most serious; the facts keep all.
ESCALATION_RULES = ("too_many_absences", "completion_missed", "first_appointment_missed")


def breached_rules(progress: ReferralProgress, now: datetime) -> list[str]:
    """The deadline rules a referral breaks at `now`, most serious first.

    - first_appointment_missed: the first-appointment deadline has passed with no appointment
      attended (late counts where the policy says so) on or before it;
    - completion_missed: the completion deadline has passed (completed referrals are not
      checked at all);
    - too_many_absences: more unexcused absences than the policy allows.
    """
    fired = {
        "first_appointment_missed": now > progress.first_appointment_due
        and progress.attended_by_first_deadline == 0,
        "completion_missed": now > progress.completion_due,
        "too_many_absences": progress.unexcused_absences > progress.max_unexcused_absences,
    }
    return [rule for rule in ESCALATION_RULES if fired[rule]]
