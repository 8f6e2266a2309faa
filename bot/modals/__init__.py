"""Modals (SPEC section 4): the views live in *_forms.py, their submissions in *_modals.py."""
from __future__ import annotations

from slack_bolt import App

from bot.modals import admin_modals, deal_modals


def register(app: App) -> None:
    """Register every modal's view_submission listener."""
    deal_modals.register(app)
    admin_modals.register(app)
