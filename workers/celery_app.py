"""The Celery application and its tasks: thin wrappers that take ids, with retries and limits."""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.celery_config import make_celery
from workers import attribute, embed, library, match, transcribe
from workers.stage import TRANSIENT

log = logging.getLogger(__name__)

celery_app = make_celery("talktrack")
celery_app.conf.task_routes = {"asr.*": {"queue": "transcribe"}}

# name -> plain function; the Celery tasks below and the in-process runner share this table.
STAGES: dict[str, Callable[..., bool]] = {
    "asr.transcribe": transcribe.transcribe_call,
    "transcript.parse": transcribe.parse_call,
    "speakers.attribute": attribute.attribute_call,
    "embed.utterances": embed.embed_call,
    "sop.match": match.match_call,
}

EXTRA: dict[str, Callable[..., object]] = {}


def register(name: str, func: Callable[..., object]) -> None:
    """Register a non-pipeline background job (re-matching, index rebuilds, retention)."""
    EXTRA[name] = func
    _make_task(name, func)


def _make_task(name: str, func: Callable[..., object]) -> None:
    @celery_app.task(
        name=name,
        autoretry_for=TRANSIENT,
        retry_backoff=True,
        retry_backoff_max=300,
        retry_jitter=True,
        max_retries=8,
        acks_late=True,
    )
    def task(**kwargs: object) -> None:
        func(**kwargs)



for _name, _func in STAGES.items():
    _make_task(_name, _func)

register("sop.rematch", match.rematch_call)
register("sop.rematch_all", match.rematch_all)
register("library.update", library.update_library)
register("library.refresh", library.refresh_library)


def run_inline(task_name: str, kwargs: dict[str, object]) -> None:
    """Execute a job in this process (tests, `talktrack ingest --inline`)."""
    func = STAGES.get(task_name) or EXTRA.get(task_name)
    if func is None:
        raise KeyError(f"Unknown task {task_name}")
    func(**kwargs)
