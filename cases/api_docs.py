"""The OpenAPI descriptions and examples of the cases API (cases/api.py).

Each endpoint's schema is a decorator here, named after the endpoint; api.py applies it, so
the endpoints read as code and what /api/docs/ says about them reads here as prose. The
examples are real answers of the API, shortened.
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)

from base.api import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND
from cases.serializers import (
    CaseAssignedSerializer,
    CaseAssignmentSerializer,
    CaseCorrectionSerializer,
    CaseCreateSerializer,
    CaseDetailSerializer,
    CaseListQuerySerializer,
    CaseListSerializer,
    DecisionReplaySerializer,
    EligibilityDecisionSerializer,
    OfferCreateSerializer,
    OfferSerializer,
    PersonCorrectionSerializer,
    PersonMatchesSerializer,
    PersonSearchSerializer,
    PersonSerializer,
)

PERSON_EXAMPLE = {
    "id": 42,
    "given_name": "Siân",
    "family_name": "O'Brien-Jones",
    "date_of_birth": "1998-03-14",
    "pnc_id": "2019/0123456A",
    "earlier_cases": [
        {"reference": "TVP-000012", "offence_date": "2024-05-02", "status": "closed"}
    ],
    "has_other_force_cases": False,
}

CASE_REQUEST_EXAMPLE = {
    "person": 42,
    "custody_record_number": "CR-2026-00917",
    "crime_reference": "43260012345",
    "offence_date": "2026-11-20",
    "offence_type": "simple_possession",
    "setting": "none",
    "admitted_offence": True,
    "resides_in_force_area": True,
    "previous_drug_conviction_or_caution": False,
    "circumstances": [],
    "drugs": [{"drug": "cannabis", "quantity": "3.5"}],
}

CASE_RESPONSE_EXAMPLE = {
    "reference": "TVP-000123",
    "force": "Thames Valley Police",
    "person": {
        "id": 42,
        "given_name": "Siân",
        "family_name": "O'Brien-Jones",
        "date_of_birth": "1998-03-14",
        "pnc_id": "2019/0123456A",
    },
    "custody_record_number": "CR-2026-00917",
    "crime_reference": "43260012345",
    "offence_date": "2026-11-20",
    "offence_type": "simple_possession",
    "setting": "none",
    "admitted_offence": True,
    "resides_in_force_area": True,
    "previous_drug_conviction_or_caution": False,
    "circumstances": [],
    "drugs": [
        {
            "drug": "cannabis",
            "name": "Cannabis (herbal)",
            "drug_class": "B",
            "quantity": "3.500",
            "unit": "g",
        }
    ],
    "status": "logged",
    "outcome": "",
    "home_office_outcome": None,
    "latest_eligibility": None,
    "referrals": [],
    "created_at": "2026-11-20T14:03:11.204518Z",
    "closed_at": None,
}

DECISION_EXAMPLE = {
    "id": 7,
    "case": "TVP-000123",
    "eligible": True,
    "outcome": True,
    "policy": {
        "force": "Thames Valley Police",
        "scheme_name": "Drug Diversion Scheme",
        "version": 3,
    },
    "reasons": [
        {
            "rule": "age",
            "passed": True,
            "message": "Aged 28 on the date of the offence: an adult under this scheme.",
        },
        {"rule": "offence_type", "passed": True, "message": "The offence is simple possession."},
        {
            "rule": "quantity",
            "passed": True,
            "message": "3.5 g of Cannabis (herbal) is within the personal-use amount of 28 g.",
        },
        {
            "rule": "earlier_diversion",
            "passed": True,
            "message": "No earlier cases or diversions found for this person.",
        },
    ],
    "history": [],
    "inputs": {
        "date_of_birth": "1998-03-14",
        "offence_date": "2026-11-20",
        "checked_on": "2026-11-20",
        "offence_type": "simple_possession",
        "setting": "none",
        "drugs": [
            {
                "code": "cannabis",
                "name": "Cannabis (herbal)",
                "class": "B",
                "quantity": "3.500",
                "unit": "g",
            }
        ],
        "admitted_offence": True,
        "resides_in_force_area": True,
        "previous_drug_conviction_or_caution": False,
        "circumstances": [],
    },
    "decided_at": "2026-11-20T14:05:42.118020Z",
    "decided_by": "Sam Patel",
    "overridden_at": None,
    "override_reason": "",
}


people_search = extend_schema(
    tags=["people"],
    summary="Find a person",
    operation_id="people_search",
    description=(
        "Search before adding a person: an exact match by PNC ID "
        "(pnc_id), else up to ten possible matches with the same date of birth and a "
        "similar name (case, accents, hyphens and small misspellings ignored). Each person "
        "comes with their earlier cases in your force, and whether another force has any. "
        "Give pnc_id, or a name with date_of_birth. Every search is recorded in the audit log."
    ),
    parameters=[PersonSearchSerializer],
    responses={200: PersonMatchesSerializer, 400: BAD_REQUEST, 403: FORBIDDEN},
    examples=[
        OpenApiExample(
            "Possible match by name and date of birth",
            value={"exact": None, "possible": [PERSON_EXAMPLE]},
            response_only=True,
        ),
        OpenApiExample(
            "Exact match by PNC ID",
            value={"exact": PERSON_EXAMPLE, "possible": []},
            response_only=True,
        ),
    ],
)


person_create = extend_schema(
    tags=["people"],
    summary="Add a person",
    description=(
        "Add a person not found by the search. Names are kept exactly as typed. A PNC ID "
        "already on record is refused: find that person instead."
    ),
    request=PersonSerializer,
    responses={201: PersonSerializer, 400: BAD_REQUEST, 403: FORBIDDEN},
    examples=[
        OpenApiExample(
            "A person with a PNC ID",
            value={
                "given_name": "Siân",
                "family_name": "O'Brien-Jones",
                "date_of_birth": "1998-03-14",
                "pnc_id": "2019/0123456A",
                "phone": "07700 900123",
                "contact_preference": "sms",
            },
            request_only=True,
        ),
    ],
)


cases = extend_schema_view(
    list=extend_schema(
        tags=["cases"],
        summary="List cases",
        description=(
            "Your force's cases, newest first, 25 to a page. Filter by status, or search by "
            "name, case reference, custody record number or crime reference with q."
        ),
        parameters=[CaseListQuerySerializer],
        responses={200: CaseListSerializer(many=True), 400: BAD_REQUEST, 403: FORBIDDEN},
    ),
    create=extend_schema(
        tags=["cases"],
        summary="Log a case",
        description=(
            "Log a possession case for a person (find or add them first) in your force. Drugs "
            "are given by code with the quantity in the drug's unit. The case starts as "
            "logged; run the eligibility check next."
        ),
        request=CaseCreateSerializer,
        responses={201: CaseDetailSerializer, 400: BAD_REQUEST, 403: FORBIDDEN},
        examples=[
            OpenApiExample(
                "Cannabis found at arrest", value=CASE_REQUEST_EXAMPLE, request_only=True
            ),
            OpenApiExample(
                "The logged case",
                value=CASE_RESPONSE_EXAMPLE,
                response_only=True,
                status_codes=["201"],
            ),
        ],
    ),
    retrieve=extend_schema(
        tags=["cases"],
        summary="Get a case",
        description=(
            "One of your force's cases with its person, drugs, status, latest eligibility "
            "decision and referrals with their deadlines. Another force's case is not found. "
            "A closed case needs `?reason=`: why you are opening it, kept in the audit trail."
        ),
        parameters=[
            OpenApiParameter(
                "reason",
                str,
                description="Why you are opening a closed case (required for closed cases).",
            )
        ],
        responses={200: CaseDetailSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)


eligibility_check = extend_schema(
    methods=["POST"],
    tags=["cases"],
    summary="Run the eligibility check",
    description=(
        "Apply your force's current scheme policy to the case and record the decision, "
        "with the policy version, the facts it saw, the person's history found in the "
        "system and a reason for every rule. The case becomes eligible or ineligible. "
        "Refused with 409 once an offer has been made."
    ),
    request=None,
    responses={
        201: EligibilityDecisionSerializer,
        400: BAD_REQUEST,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    },
    examples=[
        OpenApiExample(
            "Eligible under the force's policy",
            value=DECISION_EXAMPLE,
            response_only=True,
            status_codes=["201"],
        ),
    ],
)


eligibility_latest = extend_schema(
    methods=["GET"],
    tags=["cases"],
    summary="Get the latest eligibility decision",
    description="The most recent eligibility decision for the case; 404 if none yet.",
    responses={200: EligibilityDecisionSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
)


offer_record = extend_schema(
    tags=["cases"],
    summary="Record the offer and the person's answer",
    description=(
        "Record the offer of diversion to an eligible person, and their answer: accepted "
        "(needs consent_given), declined (closes the case for the standard process) or "
        "pending (answer later by posting again). Refused with 409 unless the case is "
        "eligible or has a pending offer."
    ),
    request=OfferCreateSerializer,
    responses={
        201: OfferSerializer,
        400: BAD_REQUEST,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    },
    examples=[
        OpenApiExample(
            "Accepted with consent",
            value={
                "response": "accepted",
                "consent_given": True,
                "notes": "Leaflet given; prefers afternoon sessions.",
            },
            request_only=True,
        ),
        OpenApiExample(
            "The recorded offer",
            value={
                "id": 9,
                "case": "TVP-000123",
                "case_status": "accepted",
                "response": "accepted",
                "consent_given": True,
                "offered_at": "2026-11-20T14:10:00Z",
                "offered_by": "Sam Patel",
                "responded_at": "2026-11-20T14:10:00Z",
                "notes": "Leaflet given; prefers afternoon sessions.",
            },
            response_only=True,
            status_codes=["201"],
        ),
    ],
)


eligibility_replay = extend_schema(
    tags=["cases"],
    summary="Replay an eligibility decision",
    description=(
        "Apply today's eligibility rules to the facts a decision stored and the policy version "
        "it used, and compare with what it recorded. `same` is true when the answer and every "
        "reason are the same, word for word; otherwise `differences` lists each reason that "
        "differs (then and now) and `why` the recorded changes to the rules since the "
        "decision (empty when none explains it). A decision whose person's date of birth was "
        "erased under the retention policy cannot be replayed (`replayable` false). A closed "
        "case needs `?reason=`, which is audited. Nothing changes on the case."
    ),
    parameters=[
        OpenApiParameter(
            "reason",
            str,
            description="Why you are opening a closed case (required for closed cases).",
        )
    ],
    responses={200: DecisionReplaySerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    examples=[
        OpenApiExample(
            "The same answer and reasons",
            value={
                "decision": 7,
                "case": "TVP-000123",
                "decided_at": "2026-11-20T14:02:00Z",
                "policy": {
                    "force": "Thames Valley Police",
                    "scheme_name": "Drug Diversion Scheme",
                    "version": 3,
                },
                "rules_version": 2,
                "current_rules_version": 2,
                "replayable": True,
                "same": True,
                "answer_changed": False,
                "summary": "Replayed today, the decision gives the same answer and the same "
                "reasons.",
                "recorded": {"eligible": True, "reasons": DECISION_EXAMPLE["reasons"]},
                "replayed": {"eligible": True, "reasons": DECISION_EXAMPLE["reasons"]},
                "differences": [],
                "why": [],
            },
            response_only=True,
        ),
    ],
)


case_correct = extend_schema(
    tags=["cases"],
    summary="Correct a case's details",
    description=(
        "Correct what was recorded wrongly: send only the fields to change, with the reason. "
        "Correcting a fact the eligibility decision rested on (offence date, type or setting, "
        "admission, residence, earlier conviction, circumstances, drugs) sends a decided case "
        "back to `logged` for a new check; once the case is referred only the custody record "
        "number and crime reference can change (409). Send the `version` you read to be told "
        "(409, code record_changed) rather than overwrite someone else's correction. Answers "
        "with the case as it is now."
    ),
    request=CaseCorrectionSerializer,
    responses={
        200: CaseDetailSerializer,
        400: BAD_REQUEST,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    },
    examples=[
        OpenApiExample(
            "The crime reference, issued after logging",
            value={"crime_reference": "43/2026/0001", "reason": "Issued by the crime bureau"},
            request_only=True,
        )
    ],
)

person_correct = extend_schema(
    tags=["cases"],
    summary="Correct the details of a case's person",
    description=(
        "Correct the person's details as typed: send only the fields to change, with the "
        "reason. Reminders go to the corrected contact details. A corrected date of birth "
        "sends their decided, unreferred cases back for a new eligibility check, and is "
        "refused (409) while a case of theirs is with a programme. Answers with the person as "
        "they are now."
    ),
    request=PersonCorrectionSerializer,
    responses={
        200: PersonSerializer,
        400: BAD_REQUEST,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    },
    examples=[
        OpenApiExample(
            "A mistyped mobile number",
            value={"phone": "07700 900456", "reason": "Typed 123 for 456 at custody"},
            request_only=True,
        )
    ],
)


case_assignment = extend_schema(
    tags=["cases"],
    summary="Give a case to an officer",
    description=(
        "Make an officer or supervisor of your force (their username) the officer in charge "
        "of a case not yet closed, or `null` to unassign it. The history of assignments is "
        "kept. Refused (400) for a user of another organisation or without a force role; "
        "409 for a closed case. Force staff only (403 for anyone else); another force's case, "
        "or one that does not exist, is 404 and nothing changes."
    ),
    request=CaseAssignmentSerializer,
    responses={
        200: CaseAssignedSerializer,
        400: BAD_REQUEST,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    },
    examples=[
        OpenApiExample("To a colleague", value={"assigned_to": "sam.patel"}, request_only=True),
        OpenApiExample(
            "The case and its officer",
            value={"reference": "TVP-000123", "status": "in_programme", "assigned_to": "sam.patel"},
            response_only=True,
            status_codes=["200"],
        ),
        OpenApiExample(
            "Not an officer of yours",
            value={
                "assigned_to": [
                    "Choose an officer of Thames Valley Police: only its custody officers and "
                    "supervisors can be given its cases."
                ]
            },
            response_only=True,
            status_codes=["400"],
        ),
    ],
)
