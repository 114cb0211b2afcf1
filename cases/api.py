"""The cases API: find or add a person, log a case, check eligibility, record the offer.

Each endpoint parses its input, calls one selector or service, and renders the result; the
rules and the scoping live in cases/services.py and cases/selectors.py, and what /api/docs/
says about each endpoint, with examples, in cases/api_docs.py.
"""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from audit.services import audit_many, audit_record
from base.api import IsForceStaff
from cases import api_docs as docs
from cases.models import Case
from cases.replay import replay
from cases.selectors import (
    ClosedCaseNeedsReason,
    case_get,
    case_list,
    case_shown,
    cases_visible_to,
    decision_shown,
    latest_decision,
    officer_named,
    people_search,
)
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
from cases.services import (
    DrugQuantity,
    case_assign,
    case_correct,
    case_create,
    case_officer_refused,
    eligibility_check,
    offer_record,
    person_correct,
    person_create,
)


class PeopleView(GenericAPIView):
    """Find a person before logging a case, or add one who is not yet known."""

    permission_classes = [IsForceStaff]
    serializer_class = PersonSerializer

    @docs.people_search
    def get(self, request: Request) -> Response:
        query = PersonSearchSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        matches = people_search(user=request.user, **query.validated_data)
        return Response(PersonMatchesSerializer(matches).data)

    @docs.person_create
    def post(self, request: Request) -> Response:
        serializer = PersonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        person = person_create(by=request.user, **serializer.validated_data)
        return Response(PersonSerializer(person).data, status=status.HTTP_201_CREATED)


@docs.cases
class CaseViewSet(GenericViewSet):
    """Cases of the user's own force, by reference."""

    permission_classes = [IsForceStaff]
    serializer_class = CaseDetailSerializer
    lookup_field = "reference"

    def get_queryset(self) -> QuerySet[Case]:
        return cases_visible_to(self.request.user)

    def list(self, request: Request) -> Response:
        query = CaseListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(
            case_list(
                user=request.user,
                query=query.validated_data["q"],
                status=query.validated_data["status"],
            )
        )
        audit_many(
            user=request.user,
            action="view",
            object_type="cases.case",
            rows=[(case.reference, case.person_id) for case in page],
        )
        return self.get_paginated_response(CaseListSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        serializer = CaseCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        drugs = [
            DrugQuantity(drug=item["drug"], quantity=item["quantity"]) for item in data.pop("drugs")
        ]
        case = case_create(by=request.user, drugs=drugs, **data)
        return Response(CaseDetailSerializer(case).data, status=status.HTTP_201_CREATED)

    @docs.case_correct
    def partial_update(self, request: Request, reference: str) -> Response:
        case = case_get(user=request.user, reference=reference)
        serializer = CaseCorrectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        drugs = data.pop("drugs", None)
        if drugs is not None:
            drugs = [DrugQuantity(drug=item["drug"], quantity=item["quantity"]) for item in drugs]
        case_correct(case=case, by=request.user, drugs=drugs, **data)
        return self.retrieve(request, reference)

    @docs.person_correct
    @action(detail=True, methods=["patch"], url_path="person")
    def person(self, request: Request, reference: str) -> Response:
        case = case_get(user=request.user, reference=reference)
        serializer = PersonCorrectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        person_correct(person=case.person, by=request.user, **serializer.validated_data)
        case.person.refresh_from_db()
        audit_record(user=request.user, action="view", obj=case.person, person_id=case.person_id)
        return Response(PersonSerializer(case.person).data)

    def retrieve(self, request: Request, reference: str) -> Response:
        reason = request.query_params.get("reason", "")[:500]
        try:
            case = case_shown(user=request.user, reference=reference, reason=reason)
        except ClosedCaseNeedsReason as error:
            raise ValidationError(
                {"reason": ["This case is closed: give ?reason= for opening it (it is audited)."]}
            ) from error
        context = {"latest_eligibility": latest_decision(case)}
        return Response(CaseDetailSerializer(case, context=context).data)

    @docs.eligibility_check
    @docs.eligibility_latest
    @action(detail=True, methods=["get", "post"])
    def eligibility(self, request: Request, reference: str) -> Response:
        case = case_get(user=request.user, reference=reference)
        if request.method == "POST":
            decision = eligibility_check(case=case, by=request.user)
            return Response(
                EligibilityDecisionSerializer(decision).data, status=status.HTTP_201_CREATED
            )
        decision = latest_decision(case)
        if decision is None:
            raise NotFound(
                "No eligibility check has been run for this case yet: POST to this address to "
                "run one."
            )
        audit_record(
            user=request.user,
            action="view",
            obj=decision,
            person_id=case.person_id,
        )
        return Response(EligibilityDecisionSerializer(decision).data)

    @docs.eligibility_replay
    @action(
        detail=True,
        methods=["get"],
        url_path=r"eligibility/(?P<decision_id>[0-9]+)/replay",
        url_name="eligibility-replay",
    )
    def eligibility_replay(self, request: Request, reference: str, decision_id: str) -> Response:
        reason = request.query_params.get("reason", "")[:500]
        try:
            decision = decision_shown(
                user=request.user,
                reference=reference,
                decision_id=int(decision_id),
                reason=reason,
            )
        except ClosedCaseNeedsReason as error:
            raise ValidationError(
                {"reason": ["This case is closed: give ?reason= for opening it (it is audited)."]}
            ) from error
        return Response(DecisionReplaySerializer(replay(decision)).data)

    @docs.offer_record
    @action(detail=True, methods=["post"])
    def offer(self, request: Request, reference: str) -> Response:
        case = case_get(user=request.user, reference=reference)
        serializer = OfferCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        offer = offer_record(case=case, by=request.user, **serializer.validated_data)
        return Response(OfferSerializer(offer).data, status=status.HTTP_201_CREATED)

    @docs.case_assignment
    @action(detail=True, methods=["post"])
    def assignment(self, request: Request, reference: str) -> Response:
        case = case_get(user=request.user, reference=reference)
        serializer = CaseAssignmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["assigned_to"]
        to = officer_named(username) if username is not None else None
        if username is not None and to is None:
            # The service's own refusal: a username elsewhere and none at all read the same.
            raise case_officer_refused(case)
        case = case_assign(case=case, by=request.user, to=to)
        return Response(CaseAssignedSerializer(case).data)
