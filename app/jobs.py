"""Background jobs through a transactional outbox.

`enqueue(session, "stage.verb", call_id=…)` writes a Job row in the caller's transaction.
After that transaction commits, the job is handed to the dispatcher (Celery by task name,
or an in-process runner in tests). If the broker is down the row stays pending and the
relay (`relay_pending`) sends it later: an accepted upload is never forgotten.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String, Text, event, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.config import get_settings
from app.db import Base, get_sessionmaker, utcnow

log = logging.getLogger(__name__)

QUEUE_BY_PREFIX = {"transcribe": "transcribe"}  # everything else goes to "cpu"
Dispatcher = Callable[[str, dict[str, Any]], None]


class JobStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"


class Job(Base):
    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_name: Mapped[str] = mapped_column(String(100))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.pending, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


def queue_for(task_name: str) -> str:
    return QUEUE_BY_PREFIX.get(task_name.split(".", 1)[0], "cpu")


_dispatcher: Dispatcher | None = None
_celery_client: Any = None
_lock = threading.Lock()


def set_dispatcher(dispatcher: Dispatcher | None) -> None:
    """Replace how jobs are sent (tests run them in-process); None restores Celery."""
    global _dispatcher
    _dispatcher = dispatcher


def celery_client() -> Any:
    """A send-only Celery app: the service sends tasks by name and never imports workers/."""
    global _celery_client
    with _lock:
        if _celery_client is None:
            from app.celery_config import make_celery

            _celery_client = make_celery("talktrack-client")
        return _celery_client


def _send(task_name: str, kwargs: dict[str, Any]) -> None:
    if _dispatcher is not None:
        _dispatcher(task_name, kwargs)
        return
    celery_client().send_task(task_name, kwargs=kwargs, queue=queue_for(task_name))


def enqueue(session: Session, task_name: str, **kwargs: Any) -> Job:
    """Record a job in the current transaction; it is sent after commit."""
    job = Job(task_name=task_name, kwargs=kwargs)
    session.add(job)
    session.flush()
    session.info.setdefault("pending_jobs", []).append(job.id)
    return job


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the jobs' rows are not committed until the outer transaction is
    job_ids = session.info.pop("pending_jobs", None)
    if job_ids:
        # Runs outside the committed transaction, on a fresh session.
        _dispatch_quietly(job_ids)


def _dispatch_quietly(job_ids: list[int]) -> None:
    """The caller's data is committed: a failure here must not fail its request; the relay retries."""
    try:
        dispatch_jobs(job_ids)
    except Exception as exc:  # noqa: BLE001 - database or broker briefly away
        log.warning("job.dispatch_deferred job_ids=%s error=%s", job_ids, exc)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return  # only a SAVEPOINT rolled back: the outer transaction's jobs still stand (a job enqueued
        # inside it has no row any more, and dispatching skips it)
    session.info.pop("pending_jobs", None)


def _claim(session: Session, job_id: int, stale_before: datetime) -> bool:
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            or_(
                Job.status == JobStatus.pending,
                (Job.status == JobStatus.sending) & (Job.claimed_at < stale_before),
            ),
        )
        .values(status=JobStatus.sending, claimed_at=utcnow(), attempts=Job.attempts + 1)
    )
    session.commit()
    return result.rowcount == 1


def dispatch_jobs(job_ids: list[int]) -> int:
    """Send the given jobs if still unsent; failures leave them pending for the relay."""
    sent = 0
    stale_before = utcnow() - timedelta(seconds=60)
    with get_sessionmaker()() as session:
        for job_id in job_ids:
            if not _claim(session, job_id, stale_before):
                continue
            job = session.get(Job, job_id)
            assert job is not None
            try:
                _send(job.task_name, dict(job.kwargs))
            except Exception as exc:  # noqa: BLE001 - broker down, connection refused, …
                log.warning("job.send_failed job_id=%s task=%s error=%s", job.id, job.task_name, exc)
                job.status, job.last_error = JobStatus.pending, str(exc)[:2000]
            else:
                job.status, job.sent_at = JobStatus.sent, utcnow()
                sent += 1
            session.commit()
    return sent


def relay_pending(limit: int = 500) -> int:
    """Send every job still pending (the outbox relay); returns how many were sent."""
    stale_before = utcnow() - timedelta(seconds=60)
    with get_sessionmaker()() as session:
        ids = session.scalars(
            select(Job.id)
            .where(
                or_(
                    Job.status == JobStatus.pending,
                    (Job.status == JobStatus.sending) & (Job.claimed_at < stale_before),
                )
            )
            .order_by(Job.id)
            .limit(limit)
        ).all()
    return dispatch_jobs(list(ids)) if ids else 0


_periodic: list[Callable[[], object]] = []


def register_periodic(func: Callable[[], object]) -> None:
    """Run func about once a minute in every relay loop (e.g. recovering stalled calls)."""
    if func not in _periodic:
        _periodic.append(func)


def start_relay_thread(stop: threading.Event) -> threading.Thread:
    """Background relay loop for API and worker processes."""
    interval = get_settings().outbox_relay_interval_s

    def loop() -> None:
        ticks = 0
        while not stop.wait(interval):
            ticks += 1
            try:
                relay_pending()
                if ticks * interval >= 60:
                    ticks = 0
                    for func in _periodic:
                        func()
            except Exception as exc:  # noqa: BLE001 - database briefly away: next tick
                log.warning("outbox.relay_failed error=%s", exc)

    thread = threading.Thread(target=loop, name="outbox-relay", daemon=True)
    thread.start()
    return thread
