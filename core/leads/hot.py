"""What an open lead is and when a lead is hot: the one place for both rules.

A lead is open while someone may still work it (new, assigned, working); it is hot while it
is open and its score is at or above the workspace's hot-lead threshold
(`Workspace.hot_lead_threshold`, set in /salesbot setup). Scoring, intake, CSV import,
rescoring, routing, training and the lead lists all ask here.
"""
from __future__ import annotations

from core.tables import LeadStatus

OPEN_STATUSES: tuple[LeadStatus, ...] = (LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.WORKING)


def is_open(status: LeadStatus) -> bool:
    """Whether a lead in `status` may still be worked."""
    return status in OPEN_STATUSES


def is_hot(status: LeadStatus, score: int, threshold: int) -> bool:
    """The hot-lead rule: open, and scored at or above the threshold."""
    return is_open(status) and score >= threshold
