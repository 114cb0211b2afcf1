"""The OpenAPI descriptions and examples of the programmes API (programmes/api.py).

Each endpoint's schema is a decorator here, named after the endpoint; api.py applies it, so
the endpoints read as code and what /api/docs/ says about them reads here as prose. The
examples are real answers of the API, shortened.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)

from base.api import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND
from programmes.serializers import (
    AppointmentBookSerializer,
    AppointmentCancelSerializer,
    AppointmentRescheduleSerializer,
    AppointmentSerializer,
    AttendanceRecordedSerializer,
    AttendanceRecordSerializer,
    CompletionSerializer,
    ProgrammeSerializer,
    ProviderReferralSerializer,
    ReferralCreateSerializer,
    ReferralDeclineSerializer,
    ReferralSerializer,
)

REFERRAL_EXAMPLE = {
    "reference": "R-000057",
    "case": "TVP-000123",
    "programme": {"id": 3, "name": "Drug education session", "provider": "Turning Point"},
    "status": "new",
    "first_appointment_due": "2026-12-04T23:59:59Z",
    "completion_due": "2027-02-12T23:59:59Z",
    "extensions": 0,
    "referred_at": "2026-11-20T14:12:30.552101Z",
    "ended_at": None,
    "updated_at": "2026-11-20T14:12:30.552130Z",
}

ATTENDANCE_EXAMPLE = {
    "id": 112,
    "outcome": "attended",
    "reason": "",
    "correction_reason": "",
    "is_current": True,
    "recorded_at": "2026-12-01T11:42:07.204518Z",
    "recorded_by": "Jo Okafor",
}

APPOINTMENT_EXAMPLE = {
    "id": 81,
    "referral": "R-000057",
    "starts_at": "2026-12-01T10:00:00Z",
    "kind": "assessment",
    "mode": "in_person",
    "location": "Turning Point, 12 Oxford Road, Reading RG1 7LE",
    "group_session": None,
    "status": "booked",
    "attendance": None,
    "attendance_history": [],
    "times_moved": 0,
    "changes": [],
}

MOVE_EXAMPLE = {
    "kind": "moved",
    "starts_at_before": "2026-11-30T10:00:00Z",
    "starts_at_after": "2026-12-01T10:00:00Z",
    "reason": "The person starts a new job that day.",
    "changed_at": "2026-11-25T09:12:44.100231Z",
    "changed_by": "Jo Okafor",
}

PROVIDER_REFERRAL_EXAMPLE = {
    "reference": "R-000057",
    "person": {
        "given_name": "Siân",
        "family_name": "O'Brien-Jones",
        "date_of_birth": "1998-03-14",
        "contact_preference": "sms",
        "email": "",
        "phone": "07700 900123",
        "preferred_language": "cy",
        "access_needs": "Step-free access, please.",
        "interpreter_language": "",
    },
    "programme": {
        "id": 3,
        "name": "Drug education session",
        "provider": "Turning Point",
        "sessions_required": 1,
    },
    "status": "in_progress",
    "first_appointment_due": "2026-12-04T23:59:59Z",
    "completion_due": "2027-02-12T23:59:59Z",
    "extensions": 0,
    "decline_reason": "",
    "completed_on": None,
    "ended_at": None,
    "end_reason": "",
    "referred_at": "2026-11-20T14:12:30.552101Z",
    "updated_at": "2026-12-01T11:42:07.204518Z",
    "appointments": [
        {
            **APPOINTMENT_EXAMPLE,
            "attendance": ATTENDANCE_EXAMPLE,
            "attendance_history": [ATTENDANCE_EXAMPLE],
            "times_moved": 1,
            "changes": [MOVE_EXAMPLE],
        }
    ],
}

APPOINTMENT_ID = OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The appointment's id."
)

PROVIDER_ONLY = (
    "Provider staff only (403 for anyone else); a referral or appointment of another provider, "
    "or one that does not exist, is 404 and nothing changes."
)


# A force's officers get the fuller referral; provider staff get the minimal one.
REFERRAL_FOR_EITHER = PolymorphicProxySerializer(
    component_name="ReferralListItem",
    serializers=[ReferralSerializer, ProviderReferralSerializer],
    resource_type_field_name=None,
)


referrals = extend_schema_view(
    list=extend_schema(
        tags=["referrals"],
        summary="List referrals",
        description=(
            "Referrals your organisation may see, newest first, 25 to a page: a force's "
            "officers see referrals of their force's cases; provider staff see only referrals "
            "made to their own provider, with the person's name, date of birth, contact details "
            "and needs, the deadlines and the appointments with their attendance so far, but no "
            "offence, drug, police reference, PNC ID or eligibility details. Provider systems "
            "keep in step by asking for updated_since the time of their last call: booking, "
            "moving or cancelling an appointment and recording attendance all count as changes, "
            "and so does the force withdrawing a referral (status withdrawn, with ended_at and "
            "end_reason; its future appointments are then cancelled, each with the reason in "
            "its changes)."
        ),
        responses={
            200: PolymorphicProxySerializer(
                component_name="ReferralListItem",
                serializers=[ReferralSerializer, ProviderReferralSerializer],
                resource_type_field_name=None,
                many=True,
            ),
            400: BAD_REQUEST,
            403: FORBIDDEN,
        },
    ),
    create=extend_schema(
        tags=["referrals"],
        summary="Refer a case to a programme",
        description=(
            "Refer a case whose offer was accepted to a programme serving your force. The "
            "deadlines come from the policy version that decided eligibility, in Europe/London "
            "working days, as the last second of the due day with its UTC offset."
        ),
        request=ReferralCreateSerializer,
        responses={201: ReferralSerializer, 400: BAD_REQUEST, 403: FORBIDDEN},
        examples=[
            OpenApiExample(
                "Refer to a programme",
                value={"case": "TVP-000123", "programme": 3},
                request_only=True,
            ),
            OpenApiExample(
                "The new referral with its deadlines",
                value=REFERRAL_EXAMPLE,
                response_only=True,
                status_codes=["201"],
            ),
        ],
    ),
    retrieve=extend_schema(
        tags=["provider"],
        summary="Get a referral",
        description=(
            "One referral your organisation may see. Provider staff get the person's name, date "
            "of birth, contact details, preferred language and access needs, the programme, the "
            "deadlines and every appointment with its current attendance and full history; never "
            "the offence, drugs, police references, PNC ID or eligibility reasons. A force's "
            "officers get the referral of their case. Anyone else's referral is 404."
        ),
        responses={200: REFERRAL_FOR_EITHER, 403: FORBIDDEN, 404: NOT_FOUND},
        examples=[
            OpenApiExample(
                "As the provider sees it",
                value=PROVIDER_REFERRAL_EXAMPLE,
                response_only=True,
                status_codes=["200"],
            ),
        ],
    ),
)


referral_accept = extend_schema(
    tags=["provider"],
    summary="Accept a referral",
    description=(
        "Take a new referral on: it becomes accepted and the case is in the programme. "
        "Book the first appointment before the first_appointment_due deadline. 409 unless "
        "the referral is new. " + PROVIDER_ONLY
    ),
    request=None,
    responses={
        200: ProviderReferralSerializer,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    },
    examples=[
        OpenApiExample(
            "The accepted referral",
            value={
                **PROVIDER_REFERRAL_EXAMPLE,
                "status": "accepted",
                "appointments": [],
            },
            response_only=True,
            status_codes=["200"],
        ),
    ],
)


referral_decline = extend_schema(
    tags=["provider"],
    summary="Decline a referral",
    description=(
        "Decline a new referral with a reason. The force sees the reason and the case goes "
        "back to them to refer to another programme. 409 unless the referral is new. "
        + PROVIDER_ONLY
    ),
    request=ReferralDeclineSerializer,
    responses={
        200: ProviderReferralSerializer,
        400: BAD_REQUEST,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    },
    examples=[
        OpenApiExample(
            "No capacity",
            value={"reason": "No Welsh-speaking facilitator until March: please re-refer."},
            request_only=True,
        ),
        OpenApiExample(
            "The declined referral",
            value={
                **PROVIDER_REFERRAL_EXAMPLE,
                "status": "declined",
                "decline_reason": "No Welsh-speaking facilitator until March: please re-refer.",
                "appointments": [],
            },
            response_only=True,
            status_codes=["200"],
        ),
    ],
)


appointment_book = extend_schema(
    tags=["provider"],
    summary="Book an appointment",
    description=(
        "Book an assessment or a session, in person or online, for an accepted referral: at "
        "a date and time in the future (ISO 8601 with its UTC offset; a time without one is "
        "taken as Europe/London time), or as a place on one of your group sessions, whose "
        "time and place are then used. 409 unless the referral is accepted, in progress or "
        "flagged. " + PROVIDER_ONLY
    ),
    request=AppointmentBookSerializer,
    responses={
        201: AppointmentSerializer,
        400: BAD_REQUEST,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    },
    examples=[
        OpenApiExample(
            "An assessment in person",
            value={
                "starts_at": "2026-12-01T10:00:00+00:00",
                "kind": "assessment",
                "mode": "in_person",
                "location": "Turning Point, 12 Oxford Road, Reading RG1 7LE",
            },
            request_only=True,
        ),
        OpenApiExample(
            "A place on a group session", value={"group_session": 14}, request_only=True
        ),
        OpenApiExample(
            "The booked appointment",
            value=APPOINTMENT_EXAMPLE,
            response_only=True,
            status_codes=["201"],
        ),
    ],
)


referral_completion = extend_schema(
    tags=["provider"],
    summary="Record completion",
    description=(
        "Record that the person completed the programme on a date (not in the future). "
        "Refused with the count (for example “1 of the 3 required sessions attended”) until "
        "the programme's required sessions are attended; arriving late counts only where "
        "the force's scheme says so. The referral becomes completed and the case closes "
        "as diverted. 409 unless the referral is accepted or in progress. " + PROVIDER_ONLY
    ),
    request=CompletionSerializer,
    responses={
        200: ProviderReferralSerializer,
        400: BAD_REQUEST,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    },
    examples=[
        OpenApiExample("Completed today", value={"completed_on": "2026-12-01"}, request_only=True),
        OpenApiExample(
            "The completed referral",
            value={
                **PROVIDER_REFERRAL_EXAMPLE,
                "status": "completed",
                "completed_on": "2026-12-01",
            },
            response_only=True,
            status_codes=["200"],
        ),
        OpenApiExample(
            "Sessions still to attend",
            value={
                "completed_on": [
                    "1 of the 3 required sessions attended: completion can be recorded "
                    "once they all are."
                ]
            },
            response_only=True,
            status_codes=["400"],
        ),
    ],
)


appointments = extend_schema_view(
    retrieve=extend_schema(
        tags=["provider"],
        summary="Get an appointment",
        parameters=[APPOINTMENT_ID],
        description=(
            "One of your appointments with its current attendance and full history. "
            + PROVIDER_ONLY
        ),
        responses={200: AppointmentSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
        examples=[
            OpenApiExample(
                "An attended appointment",
                value=PROVIDER_REFERRAL_EXAMPLE["appointments"][0],
                response_only=True,
                status_codes=["200"],
            ),
        ],
    ),
    partial_update=extend_schema(
        tags=["provider"],
        summary="Reschedule an appointment",
        parameters=[APPOINTMENT_ID],
        description=(
            "Move a booked appointment with no attendance yet to a new time in the future "
            "(starts_at is required; ISO 8601, a time without a UTC offset is taken as "
            "Europe/London time), with an optional reason. A group-session booking moves with "
            "its session: cancel it and book another. The earlier time is kept in the "
            "appointment's changes (who, when, why) and times_moved counts the moves. 409 if it "
            "is cancelled, attendance is recorded or the referral has ended. " + PROVIDER_ONLY
        ),
        request=AppointmentRescheduleSerializer,
        responses={
            200: AppointmentSerializer,
            400: BAD_REQUEST,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        examples=[
            OpenApiExample(
                "Later the same week",
                value={"starts_at": "2026-12-03T14:30:00+00:00", "reason": "Asked by the person."},
                request_only=True,
            ),
            OpenApiExample(
                "The moved appointment",
                value={
                    **APPOINTMENT_EXAMPLE,
                    "starts_at": "2026-12-03T14:30:00Z",
                    "times_moved": 1,
                    "changes": [
                        {
                            **MOVE_EXAMPLE,
                            "starts_at_before": APPOINTMENT_EXAMPLE["starts_at"],
                            "starts_at_after": "2026-12-03T14:30:00Z",
                            "reason": "Asked by the person.",
                        }
                    ],
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
    ),
)


appointment_cancel = extend_schema(
    tags=["provider"],
    summary="Cancel an appointment",
    parameters=[APPOINTMENT_ID],
    description=(
        "Cancel a booked appointment before any attendance is recorded, with an optional "
        "reason. Once attendance is recorded, correct the attendance instead (for example "
        "to cancelled_by_provider): 409. " + PROVIDER_ONLY
    ),
    request=AppointmentCancelSerializer,
    responses={
        200: AppointmentSerializer,
        400: BAD_REQUEST,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    },
    examples=[
        OpenApiExample("Facilitator ill", value={"reason": "Facilitator ill."}, request_only=True),
        OpenApiExample(
            "The cancelled appointment",
            value={
                **APPOINTMENT_EXAMPLE,
                "status": "cancelled",
                "changes": [
                    {
                        "kind": "cancelled",
                        "starts_at_before": APPOINTMENT_EXAMPLE["starts_at"],
                        "starts_at_after": None,
                        "reason": "Facilitator ill.",
                        "changed_at": "2026-11-28T16:03:10.871342Z",
                        "changed_by": "Jo Okafor",
                    }
                ],
            },
            response_only=True,
            status_codes=["200"],
        ),
    ],
)


attendance_record = extend_schema(
    tags=["provider"],
    summary="Record attendance",
    parameters=[APPOINTMENT_ID],
    description=(
        "Record the outcome of an appointment that has started: attended, late, "
        "did_not_attend, cancelled_by_provider or excused (excused needs a reason). Safe to "
        "retry: sending the outcome already recorded changes nothing and answers 200 with "
        "the same attendance (201 when a row was created). A different outcome is a "
        "correction: give correction_reason; the earlier outcome stays in the history with "
        "who recorded it. " + PROVIDER_ONLY
    ),
    request=AttendanceRecordSerializer,
    responses={
        200: AttendanceRecordedSerializer,
        201: AttendanceRecordedSerializer,
        400: BAD_REQUEST,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    },
    examples=[
        OpenApiExample("Attended", value={"outcome": "attended"}, request_only=True),
        OpenApiExample(
            "Excused absence",
            value={"outcome": "excused", "reason": "In hospital; letter seen."},
            request_only=True,
        ),
        OpenApiExample(
            "A correction",
            value={
                "outcome": "late",
                "correction_reason": "Signed in at 10:25; the register was wrong.",
            },
            request_only=True,
        ),
        OpenApiExample(
            "Recorded",
            value={"appointment": 81, **ATTENDANCE_EXAMPLE, "history": [ATTENDANCE_EXAMPLE]},
            response_only=True,
            status_codes=["201", "200"],
        ),
        OpenApiExample(
            "Not an outcome",
            value={
                "outcome": [
                    "“asleep” is not an outcome: use one of attended, late, did_not_attend, "
                    "cancelled_by_provider, excused."
                ]
            },
            response_only=True,
            status_codes=["400"],
        ),
    ],
)


programmes = extend_schema_view(
    list=extend_schema(
        tags=["programmes"],
        summary="List programmes",
        description=(
            "Active programmes serving your force (to refer to), your provider's programmes, "
            "or every programme for administrators and analysts."
        ),
        responses={200: ProgrammeSerializer(many=True), 403: FORBIDDEN},
    ),
)
