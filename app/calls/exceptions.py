from app.errors import AppError


class CallNotFound(AppError):
    status_code = 404


class UnsupportedUpload(AppError):
    status_code = 415


class InvalidTranscript(AppError):
    status_code = 422


class CallNotReprocessable(AppError):
    status_code = 409
