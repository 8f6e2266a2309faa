"""What a deal import reads and reports: checked rows, row errors, the report, stage names.

Shared by core.deals.importer (reading and checking) and core.deals.import_writer (writing).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.csv_mapping import RowError
from core.tables import DealStatus, Stage
from core.text import casefold_for_match

Progress = Callable[[int, int], None]
WON_ALIASES = ("won", "closed won", "closed-won", "closedwon", "closed_won", "win", "kazanıldı", "kazanildi")
LOST_ALIASES = ("lost", "closed lost", "closed-lost", "closedlost", "closed_lost", "loss", "kaybedildi")


UNKNOWN_STAGE = "unknown_stage"  # RowError.kind of a stage the pipeline lacks
GROUP_FROM = 3  # this many rows with the same error are reported once, with their count


@dataclass(frozen=True)
class ErrorGroup:
    """One error shared by many rows: reported once, with how many rows and which come first."""

    column: str
    value: str
    reason: str
    kind: str
    rows: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.rows)


def group_errors(errors: list[RowError], group_from: int = GROUP_FROM) -> tuple[list[ErrorGroup], list[RowError]]:
    """Errors that many rows share (and every unknown stage, however few rows) as groups; the rest row by row.

    Rows keep their order; groups come in the order their first row appears.
    """
    by_key: dict[tuple[str, str, str, str], list[int]] = {}
    for err in errors:
        by_key.setdefault((err.column, err.value, err.reason, err.kind), []).append(err.row)
    grouped = {key for key, rows in by_key.items() if key[3] == UNKNOWN_STAGE or len(rows) >= group_from}
    groups = [ErrorGroup(*key, rows=tuple(rows)) for key, rows in by_key.items() if key in grouped]
    singles = [e for e in errors if (e.column, e.value, e.reason, e.kind) not in grouped]
    return groups, singles


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    stages_created: list[str] = field(default_factory=list)
    # stage added -> (probability %, won, closed): measured from the imported deals (0 closed: by position)
    stage_probabilities: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    written: bool = False  # False when bad rows stopped an all-or-nothing import

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})


@dataclass
class ParsedRow:
    """A checked row, ready to write: its key, the Deal values it sets, owner and stage names."""

    number: int  # spreadsheet row
    key: str
    values: dict[str, Any]  # Deal attributes to set
    soft: set[str]  # attributes holding a default (now), set on create only
    owner: str | None
    team: str | None
    stage_name: str


class StageResolver:
    """Stage names (case-insensitive in the workspace's language, with won/lost aliases) -> stages;
    new names queued. In a Turkish workspace "KAPANIŞ" and "kapanış" are one stage, "İLK GÖRÜŞME"
    and "ilk görüşme" too."""

    def __init__(self, stages: list[Stage], locale: str = "en") -> None:
        self.locale = locale
        self.by_key: dict[str, Stage] = {self.key(s.name): s for s in stages}
        won = next((s for s in stages if s.is_won), None)
        lost = next((s for s in stages if s.is_lost), None)
        for names, stage in ((WON_ALIASES, won), (LOST_ALIASES, lost)):
            for name in names:
                if stage is not None:
                    self.by_key.setdefault(name, stage)
        self.known = ", ".join(s.name for s in stages)
        self.new_names: dict[str, str] = {}  # key -> name as first written
        self._status: dict[str, DealStatus] = {}

    def key(self, name: str) -> str:
        return casefold_for_match(name, self.locale)

    def find(self, name: str) -> Stage | None:
        return self.by_key.get(self.key(name))

    def status_of(self, name: str) -> DealStatus:
        status = self._status.get(name)
        if status is None:
            stage = self.find(name)
            if stage is None or not (stage.is_won or stage.is_lost):
                status = DealStatus.OPEN
            else:
                status = DealStatus.WON if stage.is_won else DealStatus.LOST
            self._status[name] = status
        return status
