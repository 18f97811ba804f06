"""Errors of the deals domain, each with its HTTP status."""

from app.errors import AppError


class DealNotFound(AppError):
    status_code = 404


class AccountNotFound(AppError):
    status_code = 404


class ApprovalNotFound(AppError):
    status_code = 404


class UnknownProcess(AppError):
    status_code = 422


class UnknownStage(AppError):
    status_code = 422


class MissingFeedback(AppError):
    """Advancing needs the stage's required feedback; the message lists the missing fields."""

    status_code = 422

    def __init__(self, stage_id: str, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(
            f"Stage '{stage_id}' needs these feedback fields before advancing: {', '.join(missing)}. "
            "Fill them with PATCH /api/v1/deals/{id} {\"feedback\": {...}} and try again."
        )


class InvalidDealInput(AppError):
    status_code = 422


class DealClosed(AppError):
    status_code = 409


class ApprovalPending(AppError):
    status_code = 409


class ApprovalAlreadyDecided(AppError):
    status_code = 409


class NotAllowed(AppError):
    status_code = 403


class DuplicateExternalRef(AppError):
    status_code = 409


class InvalidPeriod(AppError):
    status_code = 422


class CsvImportError(AppError):
    status_code = 422
