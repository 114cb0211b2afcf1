"""Data protection pages for administrators: answering a person's subject access request."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from base.clock import LONDON
from base.pages import administrator_required
from cases.forms import FindPersonForm
from retention.forms import SubjectAccessForm
from retention.subject_access import (
    subject_access_produce,
    subject_candidates,
    subject_shown,
)


@administrator_required
def subject_access_find(request: HttpRequest) -> HttpResponse:
    """Find the person a request is about, in any force (by POST: names stay out of URLs)."""
    form = FindPersonForm(request.POST or None)
    context = {"form": form, "searched": False}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        matches = subject_candidates(user=request.user, **data)
        context.update(
            searched=True,
            exact=matches.exact is not None,
            found=[matches.exact] if matches.exact else matches.possible,
        )
    return render(request, "retention/subject_access_find.html", context)


@administrator_required
def subject_access(request: HttpRequest, person_id: int) -> HttpResponse:
    """State the request's reference, then read the copy or download it as a file."""
    person = subject_shown(user=request.user, person_id=person_id)
    form = SubjectAccessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        copy = form.cleaned_data["copy"]
        record = subject_access_produce(
            user=request.user,
            person=person,
            reference=form.cleaned_data["reference"],
            form_of_copy=copy,
        )
        if copy == "file":
            stamp = timezone.localtime(record.produced_at, LONDON).strftime("%Y%m%d-%H%M")
            response = HttpResponse(record.as_json(), content_type="application/json")
            response["Content-Disposition"] = (
                f'attachment; filename="subject-access-{person.pk}-{stamp}.json"'
            )
            return response
        return render(request, "retention/subject_access_document.html", {"record": record})
    return render(request, "retention/subject_access.html", {"form": form, "person": person})
