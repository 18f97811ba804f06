"""Celery workers: one module per pipeline stage; tasks take ids and are idempotent."""
