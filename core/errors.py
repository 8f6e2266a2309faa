"""Errors a user can cause, with messages that say what was expected."""
from __future__ import annotations

from collections.abc import Sequence

from core.i18n import _


class UserError(Exception):
    """Bad input, an unknown ref, a refused action: shown to the user as is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(UserError):
    """Input that does not parse or is out of range."""


class NotFound(UserError):
    """A ref or name that matches nothing."""


class UnknownUser(NotFound):
    """A user id nobody in the workspace has yet. The message names the bare id; the Slack side
    shows the person as a mention instead (core knows no mention syntax)."""

    def __init__(self, user_id: str, field: str | None = None) -> None:
        super().__init__(_("{user} hasn't used salesbot yet.").format(user=user_id), field)
        self.user_id = user_id


class NotAllowed(UserError):
    """The actor may not do this (SPEC section 7)."""


class Ambiguous(UserError):
    """A ref that matches several records; carries the candidates."""

    def __init__(self, message: str, candidates: Sequence[object], field: str | None = None) -> None:
        super().__init__(message, field)
        self.candidates = list(candidates)
