"""`python -m workers`: a Celery worker for the pipeline queues, plus the outbox relay."""

from __future__ import annotations

import argparse
import logging
import threading


def main() -> None:
    parser = argparse.ArgumentParser(prog="talktrack worker")
    parser.add_argument("--queues", default="transcribe,cpu")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--pool", default="threads", choices=["solo", "threads", "prefork"])
    parser.add_argument("--loglevel", default="INFO")
    args = parser.parse_args()
    logging.basicConfig(level=args.loglevel, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    from app import jobs
    from app.db import init_db
    from workers.celery_app import celery_app

    init_db()
    jobs.start_relay_thread(threading.Event())
    celery_app.worker_main(
        argv=["worker", f"--queues={args.queues}", f"--concurrency={args.concurrency}", f"--pool={args.pool}",
              f"--loglevel={args.loglevel}", "--without-gossip", "--without-mingle", "-n", "talktrack@%h"]
    )


if __name__ == "__main__":
    main()
