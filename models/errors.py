"""Errors raised by the models library; callers map them to their own error types."""

from __future__ import annotations


class ModelError(Exception):
    """Base class for every error raised by ``models``."""


class AudioDecodeError(ModelError):
    """The audio file is empty, corrupt, has no audio stream, or uses an unsupported codec."""


class ModelUnavailableError(ModelError):
    """Bundled weights are missing or fail verification, or a model cannot be loaded."""
