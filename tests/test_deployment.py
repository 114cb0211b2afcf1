"""The deployment as shipped: docker-compose.yml against the README's configuration table and
`make run`'s commands (no Docker engine is available to start it), the plain-http switch, and
the README's links and paths."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from django.conf import settings as django_settings
from django.urls import Resolver404, resolve

from diversion.healthcheck import host_header

BASE = Path(__file__).resolve().parent.parent
README = (BASE / "README.md").read_text()
COMPOSE = yaml.safe_load((BASE / "docker-compose.yml").read_text())
APP_SERVICES = ("web", "worker", "beat")
# Settings compose sets itself: the bundled servers' URLs, and where the web port is published.
BUILT_BY_COMPOSE = {"DATABASE_URL", "REDIS_URL"}
MIGRATE_ONLY = {"DATABASE_OWNER_URL", "DATABASE_ADMIN_URL"}
PUBLISHING = {"PORT", "HOST"}
# What the one-shot migrate service and nothing else may hold: the owner's and the superuser's.
PRIVILEGED_PASSWORDS = ("POSTGRES_PASSWORD", "DB_OWNER_PASSWORD")


def readme_settings() -> set[str]:
    """Every variable named in the first column of the README's configuration table."""
    section = README.split("## Configuration", 1)[1].split("\n### ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_column = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_column))
    return names


def environment(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in (COMPOSE["services"][service].get("environment") or {}).items()}


def command(service: str) -> list[str]:
    value = COMPOSE["services"][service].get("command", "")
    return value.split() if isinstance(value, str) else list(value)


def stack() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stack", BASE / "scripts" / "stack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_table_is_read_whole():
    names = readme_settings()
    assert len(names) > 30
    assert {"DATABASE_URL", "PLAIN_HTTP", "EMAIL_USE_TLS", "AXES_COOLOFF_MINUTES"} <= names


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_documented_setting_reaches_web_worker_and_beat_from_the_env_file(service):
    env = environment(service)
    passed_on = readme_settings() - BUILT_BY_COMPOSE - MIGRATE_ONLY - PUBLISHING

    assert passed_on - env.keys() == set(), "settings the README documents but compose drops"
    for name in passed_on:
        # From .env (or the shell) under its own name, so the README's name is the one to set.
        assert re.fullmatch(rf"\$\{{{name}(:[-?][^}}]*)?\}}", env[name]), (name, env[name])


def readme_notify_templates() -> set[str]:
    """The settings NOTIFY_TEMPLATE_<KIND>_<CHANNEL>_<LANGUAGE> (a row of the configuration
    table) stands for: each kind of the README's table of message kinds, in every channel and
    language the settings know."""
    assert "| `NOTIFY_TEMPLATE_<KIND>_<CHANNEL>_<LANGUAGE>` |" in README
    table = README.split("| kind | channels | values |", 1)[1].split("\n\n", 1)[0]
    kinds = {
        kind
        for line in table.splitlines()
        if line.strip().startswith("| `")
        for kind in re.findall(r"`([a-z_]+)`", line.split("|")[1])
    }
    assert {"reminder_completion", "escalation_digest", "message"} <= kinds
    return {
        f"NOTIFY_TEMPLATE_{kind}_{channel}_{language}".upper()
        for kind in kinds
        for channel in django_settings.NOTIFY_CHANNELS
        for language in django_settings.NOTIFY_LANGUAGES
    }


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_documented_notify_template_reaches_web_worker_and_beat(service):
    env = environment(service)
    templates = readme_notify_templates()

    assert templates - env.keys() == set()
    assert all(env[name] == f"${{{name}:-}}" for name in templates)


@pytest.mark.parametrize("service", APP_SERVICES)
def test_web_worker_and_beat_hold_only_the_runtime_roles_database_url(service):
    env = environment(service)

    assert env["DATABASE_URL"].startswith("postgres://diversion_app:")
    assert not MIGRATE_ONLY & env.keys()
    assert not [v for v in env.values() if any(p in v for p in PRIVILEGED_PASSWORDS)]


def test_only_the_migrate_service_creates_the_roles_and_migrates_as_the_owner():
    migrate = COMPOSE["services"]["migrate"]
    env = environment("migrate")

    assert "create_db_roles" in migrate["command"] and "migrate" in migrate["command"]
    assert env["DATABASE_OWNER_URL"].startswith("postgres://diversion_owner:")
    assert env["DATABASE_ADMIN_URL"].startswith("postgres://diversion:")
    assert migrate["restart"] == "no"
    web_waits_for = COMPOSE["services"]["web"]["depends_on"]["migrate"]
    assert web_waits_for["condition"] == "service_completed_successfully"


def test_the_secrets_compose_insists_on_are_the_ones_the_readme_puts_in_env():
    text = (BASE / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    snippet = README.split("cat > .env <<EOF", 1)[1].split("EOF", 1)[0]

    assert required == {"SECRET_KEY", "POSTGRES_PASSWORD", "DB_OWNER_PASSWORD", "DB_APP_PASSWORD"}
    assert {line.split("=", 1)[0] for line in snippet.split()} >= required | {"PLAIN_HTTP"}


def test_the_web_port_is_published_where_port_and_host_say():
    (published,) = COMPOSE["services"]["web"]["ports"]
    assert published == "${HOST:-127.0.0.1}:${PORT:-8000}:8000"


def test_web_worker_and_beat_run_the_same_commands_as_make_run():
    ours = stack().service_commands("python", "BIND")

    for service in APP_SERVICES:
        theirs = command(service)
        if "--bind" in theirs:
            theirs[theirs.index("--bind") + 1] = "BIND"
        assert ours[service][2:] == theirs, service  # without `python -m`
    makefile = (BASE / "Makefile").read_text()  # `make run` is stack.py's run
    assert re.search(r"^STACK\s*:=.* scripts/stack\.py$", makefile, re.MULTILINE)
    assert re.search(r"^run:.*\n\t\$\(STACK\) run$", makefile, re.MULTILINE)


def test_exactly_one_beat_and_no_worker_runs_one_inside_it():
    beats = [name for name in COMPOSE["services"] if "beat" in command(name)]

    assert beats == ["beat"]
    assert COMPOSE["services"]["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert not {"-B", "--beat"} & set(command("worker"))


def test_the_make_targets_the_readme_names_exist_and_each_is_described():
    makefile = (BASE / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):.*## ", makefile, re.MULTILINE))
    named = set(re.findall(r"`make ([a-z-]+)", README))

    assert named - targets == set()
    assert targets - named - {"help", "install", "chromium"} == set()


def test_the_health_check_names_a_host_the_site_answers_to():
    assert host_header("localhost,127.0.0.1") == "localhost"
    assert host_header("diversion.example.police.uk") == "diversion.example.police.uk"
    assert host_header(".example.police.uk") == "health.example.police.uk"
    assert host_header("*") == "localhost"


def _over_http(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Ask a fresh process with DEBUG off, as in compose, for the home page over plain http;
    print the answer and the cookie and HSTS settings it runs with."""
    env = {
        **os.environ,
        "DEBUG": "",
        "SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        **extra,
    }
    for name in ("SECURE_COOKIES", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"):
        env.pop(name, None)
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings as s\n"
        "from django.test import Client\n"
        "r = Client(HTTP_HOST='localhost').get('/')\n"
        "print(r.status_code, r.headers.get('Location'), s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)\n"
    )
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=BASE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plain_http_is_one_switch_to_try_the_stack_on_localhost():
    shipped = _over_http({"PLAIN_HTTP": ""}).stdout.split()
    switched = _over_http({"PLAIN_HTTP": "1"}).stdout.split()

    assert shipped == ["301", "https://localhost/", "True", "True", "31536000"]
    assert switched == ["302", "/accounts/login/?next=/", "False", "False", "0"]


def test_plain_http_is_refused_for_any_host_but_this_machine():
    result = _over_http({"PLAIN_HTTP": "1", "ALLOWED_HOSTS": "diversion.example.police.uk"})

    assert result.returncode != 0
    assert "PLAIN_HTTP=1 is for trying the service on this machine only" in result.stderr


# --- The README's links and paths ---------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _markdown_files() -> list[Path]:
    return [BASE / "README.md", *sorted((BASE / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", _markdown_files(), ids=lambda p: p.name)
def test_every_link_in_the_readme_and_docs_resolves(document):
    text = document.read_text()
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        if not linked.exists():
            broken.append(target)
        elif anchor and anchor not in {
            _slug(h) for h in re.findall(r"^#+ (.+)$", linked.read_text(), re.MULTILINE)
        }:
            broken.append(target)
    assert broken == []


def test_every_repository_path_the_readme_names_exists():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=BASE, capture_output=True, text=True, check=True
    ).stdout.split()
    top = {path.split("/", 1)[0] for path in tracked}
    named = {
        token
        for token in re.findall(r"`([A-Za-z_.][\w./-]*/[\w./-]*)`", README)
        if token.split("/", 1)[0] in top
    }
    assert len(named) > 15
    assert sorted(path for path in named if not (BASE / path).exists()) == []


def test_every_page_address_the_readme_names_is_a_page():
    addresses = {
        address
        for address in re.findall(r"`(/[a-z0-9/_-]*)`", README)
        if not address.startswith("/usr/")  # a program's path, not a page
    }
    missing = []
    for address in addresses:
        try:
            resolve(address)
        except Resolver404:
            missing.append(address)
    assert len(addresses) > 5
    assert missing == []
