"""Errors a caller can act on. Each carries a message meant for the client."""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse; nothing was changed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInputError(DomainError):
    pass


class NotFoundError(DomainError):
    pass
