"""The wall clock of the Slack side: `utcnow()` is the one place bot/ reads it.

Listeners get `context["now"]` from it (bot/context.py), the scheduler, the delivery worker and
every `salesbot` subcommand call it, and the console replaces it with its `--now`. core/ never
reads the clock: it takes `now` from here.
"""
from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)
