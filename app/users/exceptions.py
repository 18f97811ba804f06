from app.errors import AppError


class UserNotFound(AppError):
    status_code = 404


class TeamNotFound(AppError):
    status_code = 404


class InvalidCredentials(AppError):
    status_code = 401


class EmailTaken(AppError):
    status_code = 409


class LoginRateLimited(AppError):
    status_code = 429
