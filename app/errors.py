"""One error base that carries its HTTP status; rendered as {"error": ..., "detail": ...}."""

from __future__ import annotations


class AppError(Exception):
    status_code: int = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    @property
    def name(self) -> str:
        return type(self).__name__


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class BadRequest(AppError):
    status_code = 400


class Unprocessable(AppError):
    status_code = 422


class NotAuthenticated(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class PayloadTooLarge(AppError):
    status_code = 413


class UnsupportedMedia(AppError):
    status_code = 415


class TooManyRequests(AppError):
    status_code = 429
