"""A real Celery worker for the integration tests (solo pool, both queues, outbox relay).

TT_IT_SLOW_S makes the transcript stage write TT_IT_MARKER and then sleep, so a test can kill the
worker in the middle of a stage. TT_IT_VISIBILITY_S shortens Redis' redelivery timeout, which in
production is the stage time limit + 5 minutes, so that the test does not wait an hour.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path


def _slow_stage(seconds: float, marker: Path) -> None:
    from workers import transcribe

    original = transcribe._parse

    def slow(session, call):  # type: ignore[no-untyped-def]
        marker.write_text(f"{os.getpid()} {call.id}\n")
        time.sleep(seconds)
        return original(session, call)

    transcribe._parse = slow


def main() -> None:
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from app import jobs
    from workers.celery_app import celery_app

    if os.environ.get("TT_IT_SLOW_S"):
        _slow_stage(float(os.environ["TT_IT_SLOW_S"]), Path(os.environ["TT_IT_MARKER"]))
    if os.environ.get("TT_IT_VISIBILITY_S"):
        options = dict(celery_app.conf.broker_transport_options or {})
        options["visibility_timeout"] = float(os.environ["TT_IT_VISIBILITY_S"])
        celery_app.conf.broker_transport_options = options
    jobs.start_relay_thread(threading.Event())
    celery_app.worker_main(argv=[
        "worker", "--queues=transcribe,cpu", "--concurrency=1", "--pool=solo", "--loglevel=INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"it{os.getpid()}@%h",
    ])


if __name__ == "__main__":
    main()
