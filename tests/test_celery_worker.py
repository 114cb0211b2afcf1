"""Celery: beat's schedule in the database, and a real worker process running the tasks."""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from celery import current_app
from django.apps import apps as django_apps
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import Role
from escalations.models import Escalation
from escalations.notifications import notifications_queue_reminders
from programmes.models import Notification, Referral
from scripts.notify_standin import NotifyStandIn, settings_environment
from tests import factories

# The worker listens on its own queue, so tasks left in Redis by other runs never reach it.
QUEUE = "tests.celery_worker"
WAIT = 60  # seconds for the worker to start and do the work


def database_url_for_worker() -> str:
    """A DATABASE_URL for the test database this process uses (unix socket or TCP)."""
    db = connection.settings_dict
    host = urllib.parse.quote(db["HOST"] or "", safe="")
    user = urllib.parse.quote(db["USER"] or "", safe="")
    password = f":{urllib.parse.quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


@contextlib.contextmanager
def celery_worker(tmp_path: Path, **environment: str) -> Iterator[Path]:
    """A `celery worker` process on QUEUE against the test database, with `environment` added
    to its own; yields its log file."""
    with current_app.connection_for_write() as broker:
        broker.default_channel.queue_purge(QUEUE)
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_worker(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "diversion.settings",
        "PYTHONUNBUFFERED": "1",
        # Messages go to files under the test's directory, not to a real gateway or the log.
        "NOTIFICATION_SMS_BACKEND": "file",
        "EMAIL_BACKEND": "file",
        "NOTIFICATION_FILE_DIR": str(tmp_path / "notifications"),
        "NOTIFY_API_KEY": "",  # not the developer's Notify, unless `environment` says so
        **environment,
    }
    command = [
        sys.executable, "-m", "celery", "-A", "diversion", "worker", "--pool=solo",
        "--concurrency=1", "-l", "info", "--without-gossip", "--without-mingle",
        "--without-heartbeat", "-Q", QUEUE, "-n", f"tests-{os.getpid()}@%h",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield log
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Path]:
    """A worker whose messages go to files under the test's directory; yields its log file."""
    with celery_worker(tmp_path) as log:
        yield log


@pytest.fixture
def notify_worker(tmp_path: Path) -> Iterator[tuple[Path, NotifyStandIn]]:
    """A worker configured, by its environment, to send through a Notify stand-in on
    loopback; yields its log file and the stand-in."""
    standin = NotifyStandIn().start()
    try:
        with celery_worker(tmp_path, **settings_environment(standin.base_url)) as log:
            yield log, standin
    finally:
        standin.stop()


def wait_for(condition: Callable[[], bool], log: Path) -> None:
    """Poll PostgreSQL until `condition()` holds; fail with the worker's log after WAIT s."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(
                f"the worker did not finish in {WAIT}s; its log:\n{log.read_text()[-4000:]}"
            )
        time.sleep(0.2)


@pytest.mark.django_db
def test_beat_schedule_is_in_the_database_with_the_default_times() -> None:
    tasks = {t.task: t for t in PeriodicTask.objects.select_related("interval", "crontab")}

    every = {
        name: (tasks[name].interval.every, tasks[name].interval.period)
        for name in (
            "escalations.sweep_deadlines",
            "escalations.queue_reminders",
            "programmes.send_pending_notifications",
            "programmes.check_notification_delivery",
        )
    }
    assert every == {
        "escalations.sweep_deadlines": (15, "minutes"),
        "escalations.queue_reminders": (1, "hours"),
        "programmes.send_pending_notifications": (5, "minutes"),
        "programmes.check_notification_delivery": (10, "minutes"),
    }
    digest = tasks["escalations.queue_digest"].crontab
    assert (digest.minute, digest.hour, str(digest.timezone)) == ("0", "7", "Europe/London")
    assert all(tasks[name].enabled for name in every)


@pytest.mark.django_db
def test_beat_schedule_migration_run_again_keeps_what_an_administrator_changed() -> None:
    sweep = PeriodicTask.objects.get(task="escalations.sweep_deadlines")
    sweep.interval = IntervalSchedule.objects.create(every=30, period="minutes")
    sweep.save()
    schedules = IntervalSchedule.objects.count()
    tasks = PeriodicTask.objects.count()
    migration = importlib.import_module("programmes.migrations.0003_beat_schedule")

    migration.create_schedule(django_apps, None)

    assert PeriodicTask.objects.count() == tasks == 7
    assert IntervalSchedule.objects.count() == schedules
    sweep.refresh_from_db()
    assert sweep.interval.every == 30


# The worker is another process that sees only committed rows, so its tests commit theirs.
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_sweep_task_and_the_escalations_are_in_postgresql(worker: Path) -> None:
    officer = factories.UserFactory(role=Role.CUSTODY_OFFICER, force=factories.force("TVP"))
    programme = factories.ProgrammeFactory(forces_served=[factories.force("TVP")])
    past = timezone.now() - timedelta(days=3)
    overdue = [
        factories.ReferralFactory(
            case__created_by=officer,
            case__status="in_programme",
            programme=programme,
            status="accepted",
            first_appointment_due=past,
            completion_due=past + timedelta(days=70),
        )
        for _ in range(3)
    ]
    on_time = factories.ReferralFactory(
        case__created_by=officer, programme=programme, status="accepted"
    )

    current_app.send_task("escalations.sweep_deadlines", queue=QUEUE)
    wait_for(lambda: Escalation.objects.count() >= len(overdue), worker)

    flagged = Escalation.objects.select_related("referral")
    assert sorted(e.referral.reference for e in flagged) == sorted(r.reference for r in overdue)
    assert {e.rule for e in flagged} == {"first_appointment_missed"}
    assert set(
        Referral.objects.filter(pk__in=[r.pk for r in overdue]).values_list("status", flat=True)
    ) == {"flagged"}
    on_time.refresh_from_db()
    assert on_time.status == "accepted"
    # The worker logs success just after the commit the test has already seen.
    wait_for(lambda: "succeeded" in worker.read_text(), worker)
    log = worker.read_text()
    assert "escalations.sweep_deadlines" in log and "succeeded" in log
    assert officer.last_name not in log and "Testperson" not in log  # no names in its logs


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_worker_sends_what_waits_in_the_outbox(worker: Path) -> None:
    referral = factories.ReferralFactory(
        case__person__phone="07700 900456",
        case__person__contact_preference="sms",
        status="accepted",
        first_appointment_due=timezone.now() + timedelta(hours=30),
    )
    assert notifications_queue_reminders(now=timezone.now() + timedelta(hours=10)) == 1

    # The worker is another process: its SMS backend writes files under the test's directory.
    current_app.send_task("programmes.send_pending_notifications", queue=QUEUE)
    wait_for(
        lambda: not Notification.objects.filter(referral=referral, status="pending").exists(),
        worker,
    )

    assert Notification.objects.get(referral=referral).status == "sent"
    (sms,) = (worker.parent / "notifications" / "sms").iterdir()
    assert "07700 900456" in sms.read_text()


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_worker_sends_a_reminder_through_notify_and_its_failure_reaches_the_case_page(
    notify_worker: tuple[Path, NotifyStandIn], client
) -> None:
    log, notify = notify_worker
    officer = factories.UserFactory(role=Role.CUSTODY_OFFICER, force=factories.force("TVP"))
    referral = factories.ReferralFactory(
        case__created_by=officer,
        case__person__phone="07700 900002",  # Notify's simulated "does not exist"
        case__person__contact_preference="sms",
        status="accepted",
        first_appointment_due=timezone.now() + timedelta(hours=30),
    )
    assert notifications_queue_reminders(now=timezone.now() + timedelta(hours=10)) == 1
    reminder = Notification.objects.get(referral=referral)

    current_app.send_task("programmes.send_pending_notifications", queue=QUEUE)
    wait_for(lambda: Notification.objects.filter(pk=reminder.pk, status="sent").exists(), log)
    current_app.send_task("programmes.check_notification_delivery", queue=QUEUE)
    wait_for(lambda: Notification.objects.filter(pk=reminder.pk, status="failed").exists(), log)

    [sent] = notify.sent
    assert (sent.reference, sent.type) == (str(reminder.pk), "sms")
    client.force_login(officer)
    page = client.get(f"/cases/{referral.case.reference}/").content.decode()
    assert "was not delivered: the mobile number does not exist" in page
    assert "07700 900002" not in log.read_text()
