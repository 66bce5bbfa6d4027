"""Domain errors: raised by services, turned into clean 4xx responses by the API
and into form errors by the admin and portal."""

from __future__ import annotations


class DomainError(Exception):
    """A request that the rules refuse. ``field`` names the input to fix, when there is one."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict:
        fields = {self.field: [self.message]} if self.field else {}
        return {"code": self.code, "detail": self.message, "fields": fields}


class ConflictError(DomainError):
    """The request is well-formed but clashes with the current state (e.g. a duplicate)."""

    status_code = 409
    code = "conflict"
