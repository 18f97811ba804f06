"""Celery configuration shared by the send-only client (app/jobs.py) and the workers."""

from __future__ import annotations

from typing import Any

from app.config import get_settings


def celery_config() -> dict[str, Any]:
    settings = get_settings()
    config: dict[str, Any] = {
        "broker_url": settings.effective_broker_url,
        "task_ignore_result": True,
        "task_acks_late": True,  # a killed worker's task is delivered again
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": "cpu",
        "task_time_limit": settings.stage_time_limit_s + 60,
        "task_soft_time_limit": settings.stage_time_limit_s,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 3,
        "worker_hijack_root_logger": False,
    }
    if settings.effective_broker_url.startswith("filesystem"):
        folder = settings.broker_dir
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        config["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),  # kombu's default is ./control in the cwd
            "store_processed": False,
        }
    elif settings.effective_broker_url.startswith("redis"):
        # Redelivery after a lost worker: tasks unacknowledged this long are resent.
        config["broker_transport_options"] = {
            "visibility_timeout": settings.stage_time_limit_s + 300,
            # Sweep for messages of dead workers every 10 s (kombu's default throttle makes it
            # every 100 s, which delays recovery after a lost worker for no benefit).
            "unacked_restore_interval": 10,
            "unacked_restore_throttle": 1,
            "max_retries": 1,
        }
        config["broker_connection_max_retries"] = 1
    return config


def make_celery(name: str) -> Any:
    from celery import Celery

    app = Celery(name)
    app.conf.update(celery_config())
    return app
