"""What a supervisor may do next with an escalation. (The breach rule, which referrals the
sweep flags, is one SQL definition in escalations/breaches.py.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cases.rules import supervises

if TYPE_CHECKING:
    from accounts.models import User
    from escalations.models import Escalation


# What a supervisor may do next with an escalation: one of the four decisions while it is
# open, then the case summary for a prosecution. The escalation page offers exactly these,
# and services.escalation_decide refuses a decision not among them.
PROSECUTE = "prosecute"
EXTEND = "extend"
RE_REFER = "re_refer"
NO_FURTHER_ACTION = "no_further_action"
SUMMARY = "summary"  # the printable case summary for the prosecution file (views.summary)

# What the provider is told when a decision withdraws its referral (the referral's end_reason,
# on its pages, its message and the API): why it ended, never the supervisor's rationale, the
# offence or the prosecution.
PROVIDER_TOLD: dict[str, str] = {
    PROSECUTE: "the person leaves the scheme",
    NO_FURTHER_ACTION: "the person leaves the scheme",
    RE_REFER: "the person is referred to another programme",
}


def escalation_actions(
    *, supervisor: bool, decided: bool, decision: str, extensions_left: int
) -> frozenset[str]:
    """What a user may do next with an escalation.

    `supervisor`: a supervisor of the case's force (nobody else may do anything); `decided`
    and `decision`: the decision already recorded, if any; `extensions_left`: how many more
    times the scheme allows the referral's deadline to be extended.

    - prosecute, re_refer, no_further_action: while undecided (a decision is final);
    - extend: as those, while the scheme allows another extension;
    - summary: once the decision is to prosecute.
    """
    if not supervisor:
        return frozenset()
    if decided:
        return frozenset({SUMMARY}) if decision == PROSECUTE else frozenset()
    actions = {PROSECUTE, RE_REFER, NO_FURTHER_ACTION}
    if extensions_left > 0:
        actions.add(EXTEND)
    return frozenset(actions)


def escalation_actions_for(escalation: Escalation, user: User) -> frozenset[str]:
    """`escalation_actions` for `user` and an escalation (with its referral's case and
    policy loaded)."""
    referral = escalation.referral
    return escalation_actions(
        supervisor=supervises(referral.case, user),
        decided=escalation.decided_at is not None,
        decision=escalation.decision,
        extensions_left=referral.policy.max_extensions - referral.extensions,
    )
