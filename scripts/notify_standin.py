#!/usr/bin/env python3
"""A stand-in for GOV.UK Notify on this machine: the part of Notify's API the service uses.

    .venv/bin/python scripts/notify_standin.py [--port 6001]

It answers on 127.0.0.1 only, as Notify's API does for what we call: send an email or a text
message from a template (POST /v2/notifications/email and /sms), get one notification's
status (GET /v2/notifications/<id>) and find notifications by reference (GET
/v2/notifications?reference=...), with Notify's error answers: 401 and 403 for a missing or
bad JSON Web Token (checked with the key's secret, by notifications-python-client's own
check), 400 for an unknown template, missing personalisation, a number that is not a UK
mobile or an address that is not an email address. Notify's simulated recipients behave as
on Notify: 07700 900002 and perm-fail@simulator.notify fail for good, 07700 900003 and
temp-fail@simulator.notify fail for a while; any other fine one is delivered.

Run as a script it prints, and writes to var/notify.env, the settings that point the service
at it (a key and the template ids of its templates), and prints each message it is sent:
development only, as the console backends. The tests start one per test (`NotifyStandIn`),
make it fail on demand (`fail_next`) and read what it was sent.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
from notifications_python_client.errors import TokenError

SERVICE_ID = "5c1f3b2e-4d6a-4e8b-9c0d-1e2f3a4b5c6d"
SECRET = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"  # noqa: S105 (the stand-in's own, no secret)
API_KEY = f"diversion_standin-{SERVICE_ID}-{SECRET}"  # for this stand-in only

PERMANENT_FAILURES = {"07700900002", "perm-fail@simulator.notify"}
TEMPORARY_FAILURES = {"07700900003", "temp-fail@simulator.notify"}
UK_MOBILE = re.compile(r"^(?:\+44|0044|0)7\d{9}$")
EMAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PLACEHOLDER = re.compile(r"\(\(([^()]+)\)\)")


@dataclass(frozen=True)
class Template:
    """A Notify template: its type, and subject (email) and body with ((placeholders))."""

    id: str
    type: str
    body: str
    subject: str = ""

    def placeholders(self) -> list[str]:
        return list(dict.fromkeys(PLACEHOLDER.findall(self.subject + self.body)))


def _template(kind: str, channel: str, language: str, body: str, subject: str = "") -> Template:
    """A template whose id is the same on every run (from its kind, channel and language)."""
    name = f"diversion-standin:{kind}:{channel}:{language}"
    return Template(str(uuid.uuid5(uuid.NAMESPACE_URL, name)), channel, body, subject)


REMINDER_FIRST = (
    "Reminder: please attend your first appointment with ((provider)) by ((due_date)). "
    "Your reference is ((reference))."
)
REMINDER_FIRST_CY = (
    "Nodyn atgoffa: mynychwch eich apwyntiad cyntaf gyda ((provider)) erbyn ((due_date)). "
    "Eich cyfeirnod yw ((reference))."
)
REMINDER_COMPLETION = (
    "Reminder: please finish your programme with ((provider)) by ((due_date)). "
    "Your reference is ((reference))."
)
REMINDER_COMPLETION_CY = (
    "Nodyn atgoffa: gorffennwch eich rhaglen gyda ((provider)) erbyn ((due_date)). "
    "Eich cyfeirnod yw ((reference))."
)

# The settings' names and the templates a Notify service for this system would hold.
TEMPLATES = {
    ("message", "email", "en"): _template("message", "email", "en", "((body))", "((subject))"),
    ("message", "sms", "en"): _template("message", "sms", "en", "((body))"),
    ("reminder_first_appointment", "sms", "en"): _template(
        "reminder_first_appointment", "sms", "en", REMINDER_FIRST
    ),
    ("reminder_first_appointment", "sms", "cy"): _template(
        "reminder_first_appointment", "sms", "cy", REMINDER_FIRST_CY
    ),
    ("reminder_first_appointment", "email", "en"): _template(
        "reminder_first_appointment", "email", "en", REMINDER_FIRST, "Your first appointment"
    ),
    ("reminder_first_appointment", "email", "cy"): _template(
        "reminder_first_appointment", "email", "cy", REMINDER_FIRST_CY, "Eich apwyntiad cyntaf"
    ),
    ("reminder_completion", "sms", "en"): _template(
        "reminder_completion", "sms", "en", REMINDER_COMPLETION
    ),
    ("reminder_completion", "sms", "cy"): _template(
        "reminder_completion", "sms", "cy", REMINDER_COMPLETION_CY
    ),
    ("reminder_completion", "email", "en"): _template(
        "reminder_completion", "email", "en", REMINDER_COMPLETION, "Finish your programme"
    ),
    ("reminder_completion", "email", "cy"): _template(
        "reminder_completion", "email", "cy", REMINDER_COMPLETION_CY, "Gorffen eich rhaglen"
    ),
    ("escalation_digest", "email", "en"): _template(
        "escalation_digest",
        "email",
        "en",
        "New escalations of ((force)) to review: ((count))\n\n((escalations))",
        "((count)) new escalations to review: ((force))",
    ),
}


def settings_environment(base_url: str) -> dict[str, str]:
    """The environment that points the service at a stand-in at `base_url`."""
    env = {"NOTIFY_API_KEY": API_KEY, "NOTIFY_BASE_URL": base_url}
    for (kind, channel, language), template in TEMPLATES.items():
        env[f"NOTIFY_TEMPLATE_{kind}_{channel}_{language}".upper()] = template.id
    return env


@dataclass
class Sent:
    """A notification the stand-in accepted."""

    id: str
    type: str
    recipient: str
    template: Template
    personalisation: dict[str, Any]
    reference: str | None
    body: str
    subject: str
    created_at: str
    status: str = "sending"

    def as_json(self, base_url: str) -> dict[str, Any]:
        """As Notify's GET /v2/notifications/<id> answers."""
        return {
            "id": self.id,
            "reference": self.reference,
            "email_address": self.recipient if self.type == "email" else None,
            "phone_number": self.recipient if self.type == "sms" else None,
            "type": self.type,
            "status": self.status,
            "template": {"id": self.template.id, "version": 1, "uri": f"{base_url}/t"},
            "body": self.body,
            "subject": self.subject or None,
            "created_at": self.created_at,
            "sent_at": self.created_at,
            "completed_at": None,
        }


class NotifyError(Exception):
    """An error answer, as Notify gives it."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message

    def as_json(self) -> dict[str, Any]:
        return {
            "status_code": self.status,
            "errors": [{"error": self.error, "message": self.message}],
        }


@dataclass
class Failure:
    """A failure to give instead of the next answer; `after_accepting`: keep the message
    first, as when Notify took it but its answer was lost."""

    error: NotifyError
    after_accepting: bool = False


@dataclass
class NotifyStandIn:
    """The stand-in server on 127.0.0.1: `start()`, then read `sent`; `stop()` at the end."""

    port: int = 0
    templates: dict[tuple[str, str, str], Template] = field(default_factory=lambda: TEMPLATES)
    echo: bool = False  # print each message (the script does; tests do not)
    sent: list[Sent] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("start() the stand-in first")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> NotifyStandIn:
        """Listen on 127.0.0.1 in a background thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def fail_next(
        self, status: int, error: str, message: str, *, times: int = 1, after_accepting=False
    ) -> None:
        """Answer the next `times` sends (or look-ups) with this error."""
        with self._lock:
            for _ in range(times):
                self.failures.append(Failure(NotifyError(status, error, message), after_accepting))

    def posts(self) -> int:
        """How many sends were asked for, whatever the answer."""
        return sum(method == "POST" for method, _ in self.requests)

    # --- The API ----------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> None:
        """Check the JSON Web Token as Notify does: issuer, signature, issued within 30s."""
        if not authorization or not authorization.startswith("Bearer "):
            raise NotifyError(
                401, "AuthError", "Unauthorized: authentication token must be provided"
            )
        token = authorization.removeprefix("Bearer ").strip()
        try:
            if get_token_issuer(token) != SERVICE_ID:
                raise NotifyError(403, "AuthError", "Invalid token: service not found")
            decode_jwt_token(token, SECRET)
        except TokenError as error:
            raise NotifyError(403, "AuthError", "Invalid token: API key not found") from error

    def send(self, channel: str, data: dict[str, Any]) -> dict[str, Any]:
        """POST /v2/notifications/<channel>."""
        failure = self._next_failure()
        if failure is not None and not failure.after_accepting:
            raise failure.error
        template = next(
            (t for t in self.templates.values() if t.id == data.get("template_id")), None
        )
        if template is None:
            raise NotifyError(400, "BadRequestError", "Template not found")
        if template.type != channel:
            raise NotifyError(
                400, "BadRequestError", f"{channel} template is not suitable for {template.type}"
            )
        recipient = str(data.get("phone_number" if channel == "sms" else "email_address", ""))
        if channel == "sms" and not UK_MOBILE.match(re.sub(r"[\s\-()]", "", recipient)):
            raise NotifyError(400, "ValidationError", "phone_number Not a UK mobile number")
        if channel == "email" and not EMAIL_ADDRESS.match(recipient):
            raise NotifyError(400, "ValidationError", "email_address Not a valid email address")
        values = data.get("personalisation") or {}
        missing = [name for name in template.placeholders() if name not in values]
        if missing:
            raise NotifyError(
                400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}"
            )
        sent = Sent(
            id=str(uuid.uuid4()),
            type=channel,
            recipient=recipient,
            template=template,
            personalisation=values,
            reference=data.get("reference"),
            body=_fill(template.body, values),
            subject=_fill(template.subject, values),
            created_at=datetime.now(UTC).isoformat(),
        )
        with self._lock:
            self.sent.append(sent)
        if self.echo:
            subject = f"{sent.subject}\n" if sent.subject else ""
            print(f"{channel} to {recipient}, reference {sent.reference}:\n{subject}{sent.body}\n")
        if failure is not None:
            raise failure.error
        content: dict[str, Any] = {"body": sent.body}
        if channel == "sms":
            content["from_number"] = "GOVUK"
        else:
            content.update(subject=sent.subject, from_email="diversion@notifications.service")
        return {
            "id": sent.id,
            "reference": sent.reference,
            "content": content,
            "uri": f"{self.base_url}/v2/notifications/{sent.id}",
            "template": {"id": template.id, "version": 1, "uri": f"{self.base_url}/t"},
            "scheduled_for": None,
        }

    def status(self, notification_id: str) -> dict[str, Any]:
        """GET /v2/notifications/<id>: a message still sending settles as Notify's simulated
        recipients do (delivered, unless it is one that fails)."""
        failure = self._next_failure()
        if failure is not None:
            raise failure.error
        for sent in self.sent:
            if sent.id == notification_id:
                if sent.status == "sending":
                    sent.status = (
                        "permanent-failure"
                        if _plain(sent.recipient) in PERMANENT_FAILURES
                        else "temporary-failure"
                        if _plain(sent.recipient) in TEMPORARY_FAILURES
                        else "delivered"
                    )
                return sent.as_json(self.base_url)
        raise NotifyError(404, "NoResultFound", "No result found")

    def by_reference(self, reference: str) -> dict[str, Any]:
        """GET /v2/notifications?reference=..."""
        failure = self._next_failure()
        if failure is not None:
            raise failure.error
        found = [s.as_json(self.base_url) for s in reversed(self.sent) if s.reference == reference]
        return {"notifications": found, "links": {"current": f"{self.base_url}/v2/notifications"}}

    def _next_failure(self) -> Failure | None:
        with self._lock:
            return self.failures.pop(0) if self.failures else None


def _plain(recipient: str) -> str:
    return re.sub(r"[\s\-()]", "", recipient).lower()


def _fill(text: str, values: dict[str, Any]) -> str:
    """A template's text with its placeholders filled; a list becomes bullet lines."""

    def value(match: re.Match[str]) -> str:
        found = values.get(match.group(1), "")
        return "\n".join(f"* {item}" for item in found) if isinstance(found, list) else str(found)

    return PLACEHOLDER.sub(value, text)


def _handler(standin: NotifyStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "NotifyStandIn/1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet: requests are recorded in `standin.requests` instead."""

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            with standin._lock:
                standin.requests.append((method, url.path))
            try:
                standin.authenticate(self.headers.get("Authorization"))
                if method == "POST" and url.path in (
                    "/v2/notifications/sms",
                    "/v2/notifications/email",
                ):
                    length = int(self.headers.get("Content-Length") or 0)
                    data = json.loads(self.rfile.read(length) or b"{}")
                    self._answer(HTTPStatus.CREATED, standin.send(url.path.rsplit("/", 1)[1], data))
                elif method == "GET" and url.path == "/v2/notifications":
                    reference = parse_qs(url.query).get("reference", [""])[0]
                    self._answer(HTTPStatus.OK, standin.by_reference(reference))
                elif method == "GET" and url.path.startswith("/v2/notifications/"):
                    self._answer(HTTPStatus.OK, standin.status(url.path.rsplit("/", 1)[1]))
                else:
                    raise NotifyError(404, "NotFound", "Not found")
            except NotifyError as error:
                self._answer(error.status, error.as_json())
            except (ValueError, KeyError):
                self._answer(400, NotifyError(400, "BadRequestError", "Invalid JSON").as_json())

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self._handle("POST")

        def do_GET(self) -> None:  # noqa: N802
            self._handle("GET")

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Run the stand-in until Ctrl-C, printing the settings that point the service at it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=6001)
    options = parser.parse_args(argv)
    standin = NotifyStandIn(port=options.port, echo=True).start()
    env = settings_environment(standin.base_url)
    env_file = Path(__file__).resolve().parent.parent / "var" / "notify.env"
    env_file.parent.mkdir(exist_ok=True)
    env_file.write_text("".join(f"{name}={value}\n" for name, value in env.items()))
    print(f"GOV.UK Notify stand-in at {standin.base_url}; its settings, also in {env_file}:")
    for name, value in env.items():
        print(f"  {name}={value}")
    print("Start the service with them: set -a; . var/notify.env; set +a; make run")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
