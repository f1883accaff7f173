"""The one error type services raise: a stable machine-readable code plus a message for people."""

from django.utils.functional import Promise


class DomainError(Exception):
    """A rule of the domain refused the operation; nothing was changed.

    `code` is stable and returned by the API; `message` is translatable and shown to the user;
    `status` is the HTTP status interfaces answer with.
    """

    status = 400

    def __init__(self, code: str, message: str | Promise, *, status: int | None = None, **details):
        super().__init__(str(message))
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.details = details

    def __reduce__(self):
        # Crossing a process boundary (a worker pool's result, a task's failure) pickles the error: rebuild it from
        # its code, message and details, since Exception's default would call __init__ with the message alone.
        return _rebuild, (type(self), self.code, str(self.message), self.status, self.details)

    def as_dict(self) -> dict:
        data = {"code": self.code, "message": str(self.message)}
        data.update(self.details)
        return data


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


def _rebuild(cls, code: str, message: str, status: int, details: dict) -> DomainError:
    error = cls(code, message, **details)
    error.status = status
    return error
