"""The audit trail in plain English: what was done to which record, and each change as a
sentence. Audit knows no domain model: the name of the kind of record comes from the model the
row names (its verbose name), and field names are turned into words."""

from __future__ import annotations

from typing import Any

from django.apps import apps

from audit.models import AuditEvent

SUMMARY_LENGTH = 300
# Keys of a row's `changes` that say how many or which, not what changed.
COUNTS = {"found": "showed", "results": "found", "page": "page"}


def record_name(object_type: str) -> str:
    """ "case" for cases.case, "eligibility decision" for cases.eligibilitydecision; the raw name
    of a model that no longer exists."""
    app_label, _, model = object_type.partition(".")
    try:
        return str(apps.get_model(app_label, model)._meta.verbose_name)
    except (LookupError, ValueError):
        return model or object_type


def _words(key: str) -> str:
    return key.replace("_", " ")


def _value(value: Any) -> str:
    if value in ("", None, [], {}):
        return "nothing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{_words(key)} {_value(item)}" for key, item in value.items())
    return _words(str(value)) if isinstance(value, str) and "_" in value else str(value)


def what_happened(event: AuditEvent) -> str:
    """ "Viewed case TVP-000014", "Searched people: showed 2", "Changed person 12"."""
    noun = record_name(event.object_type)
    if event.action == AuditEvent.Action.SEARCH:
        found = (event.changes or {}).get("found")
        if isinstance(found, list):
            return f"Searched {noun} records: showed {len(found)}"
        return f"Searched {noun} records"
    label = event.get_action_display()
    return f"{label} {noun} {event.object_id}".strip()


def summarise_changes(changes: dict[str, Any]) -> str:
    """The changes as sentences: "Status changed from offered to accepted. Fields given: email,
    phone."""
    before = changes.get("before") if isinstance(changes.get("before"), dict) else {}
    after = changes.get("after") if isinstance(changes.get("after"), dict) else {}
    sentences = [
        f"{_words(key).capitalize()} changed from {_value(before[key])} to {_value(value)}"
        if key in before
        else f"{_words(key).capitalize()}: {_value(value)}"
        for key, value in after.items()
        if key in before or value not in ("", None, [], {})
    ]
    for key, value in changes.items():
        if key in ("before", "after") and isinstance(value, dict):
            continue
        if key == "fields":
            sentences.append(f"Fields: {_value([_words(name) for name in value])}")
        elif key in COUNTS and isinstance(value, list):
            sentences.append(f"{COUNTS[key].capitalize()} {len(value)}")
        else:
            sentences.append(f"{_words(key).capitalize()}: {_value(value)}")
    summary = ". ".join(sentences) + ("." if sentences else "")
    return summary if len(summary) <= SUMMARY_LENGTH else summary[: SUMMARY_LENGTH - 1] + "…"
