"""The words for stored values a user reads inside a sentence: statuses and roles.

The stored value stays English (it is data in the database and in CSV files); what a sentence
shows is its word in the current language: `status_word("won")` is "kazanıldı" in Turkish.
"""
from __future__ import annotations

from core.i18n import pgettext


def _statuses() -> dict[str, str]:
    return {
        # deals
        "open": pgettext("status", "open"),
        "won": pgettext("status", "won"),
        "lost": pgettext("status", "lost"),
        # reminders
        "pending": pgettext("status", "pending"),
        "sent": pgettext("status", "sent"),
        "done": pgettext("status", "done"),
        "snoozed": pgettext("status", "snoozed"),
        "cancelled": pgettext("status", "cancelled"),
        # leads
        "new": pgettext("status", "new"),
        "assigned": pgettext("status", "assigned"),
        "working": pgettext("status", "working"),
        "converted": pgettext("status", "converted"),
        "disqualified": pgettext("status", "disqualified"),
    }


def status_word(value: object) -> str:
    """A status as a sentence shows it ("won" -> "won" / "kazanıldı"); unknown values as they are."""
    text = str(value)
    return _statuses().get(text, text)


def role_word(value: object) -> str:
    text = str(value)
    return {
        "rep": pgettext("role", "rep"),
        "manager": pgettext("role", "manager"),
        "admin": pgettext("role", "admin"),
    }.get(text, text)
