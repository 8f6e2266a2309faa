"""Points scoring: fit rules plus decayed, capped engagement, each point with its reason.

Pure functions over plain data (no database) so a whole workspace rescores fast: compile the
rules once with `Scorer(rules)`, then call `scorer.score(fields, events, now)` per lead.
Engagement decays by half-life: an event worth 20 points `half_life_days` ago is worth 10.
A group's cap bounds its decayed total; the kinds in a capped group share the cap in
proportion, so the reasons still add up to the score.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from core.i18n import N_, _, ngettext

MAX_SCORE = 100
_MISSING = object()


class Reason(NamedTuple):
    """Points and why: a fit rule, or an event kind (with its latest time and count).

    A NamedTuple, not a dataclass: a rescoring run makes millions of them.
    """

    points: int
    label: str
    at: datetime | None = None
    times: int = 1

    def to_json(self) -> dict[str, Any]:
        """As stored in Lead.score_reasons."""
        return {
            "points": self.points,
            "label": self.label,
            "at": self.at.isoformat() if self.at else None,
            "count": self.times,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Reason:
        """Back from Lead.score_reasons."""
        at = data.get("at")
        return Reason(
            points=int(data.get("points", 0)),
            label=str(data.get("label", "")),
            at=datetime.fromisoformat(at) if at else None,
            times=int(data.get("count", 1)),
        )


@dataclass(frozen=True)
class Score:
    points: int
    reasons: tuple[Reason, ...]

    def top(self, n: int = 3) -> tuple[Reason, ...]:
        """The reasons that moved the score most (largest absolute points first)."""
        return tuple(sorted(self.reasons, key=lambda r: -abs(r.points))[:n])


def field_value(fields: Mapping[str, Any], name: str) -> Any:
    """A lead field, or `attributes.X` from its free attributes (None when absent or blank)."""
    if name.startswith("attributes."):
        attrs = fields.get("attributes") or {}
        value = attrs.get(name[len("attributes.") :])
    else:
        value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        return None


def rule_matches(rule: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    """Does a checked fit rule (see core.leads.rules) hold for a lead's fields?"""
    op, expected = rule["op"], rule["value"]
    value = field_value(fields, rule["field"])
    if op == "present":
        return (value is not None) == bool(expected)
    if op == "missing":
        return (value is None) == bool(expected)
    if value is None:
        return False
    if op in ("gt", "gte", "lt", "lte"):
        num = _as_number(value)
        if num is None:
            return False
        return bool({"gt": num > expected, "gte": num >= expected, "lt": num < expected, "lte": num <= expected}[op])
    text = str(value).strip().casefold()
    if op == "eq":
        return bool(text == expected)
    if op == "ne":
        return bool(text != expected)
    if op == "in":
        return text in expected
    if op == "not_in":
        return text not in expected
    if op == "contains":
        return any(part in text for part in expected)
    return False


class Scorer:
    """Rules compiled for fast scoring of many leads."""

    def __init__(self, rules: Mapping[str, Any]) -> None:
        self.fit: list[Mapping[str, Any]] = list(rules.get("fit", []))
        eng = rules.get("engagement", {})
        self.decay_per_second = math.log(2) / (float(eng.get("half_life_days", 14)) * 86400.0)
        self.caps: dict[str, float] = {str(k): float(v) for k, v in eng.get("groups", {}).items()}
        # kind -> (points, group or None, label)
        self.events: dict[str, tuple[float, str | None, str]] = {
            kind: (float(e.get("points") or 0), e.get("group"), str(e.get("label") or kind))
            for kind, e in eng.get("events", {}).items()
        }

    def score(self, fields: Mapping[str, Any], events: Iterable[tuple[str, datetime]], now: datetime) -> Score:
        """The points score (0-100) of one lead and its reasons, as of `now`."""
        reasons: list[Reason] = []
        total = 0.0
        for rule in self.fit:
            if rule_matches(rule, fields):
                pts = float(rule["points"])
                total += pts
                reasons.append(Reason(round(pts), rule["label"]))
        # kind -> [decayed points, latest at, count]
        per_kind: dict[str, list[Any]] = {}
        spec = self.events
        rate = self.decay_per_second
        exp = math.exp
        for kind, at in events:
            s = spec.get(kind)
            if s is None or not s[0]:
                continue
            age = (now - at).total_seconds()
            value = s[0] * exp(-rate * age) if age > 0 else s[0]
            acc = per_kind.get(kind)
            if acc is None:
                per_kind[kind] = [value, at, 1]
            else:
                acc[0] += value
                acc[2] += 1
                if at > acc[1]:
                    acc[1] = at
        if per_kind:
            total += self._engagement(per_kind, reasons)
        points = max(0, min(MAX_SCORE, round(total)))
        return Score(points, tuple(reasons))

    def _engagement(self, per_kind: dict[str, list[Any]], reasons: list[Reason]) -> float:
        group_totals: dict[str, float] = {}
        for kind, acc in per_kind.items():
            group = self.events[kind][1]
            if group is not None and acc[0] > 0:
                group_totals[group] = group_totals.get(group, 0.0) + acc[0]
        total = 0.0
        for kind, acc in per_kind.items():
            __, group, label = self.events[kind]
            value = acc[0]
            if group is not None and value > 0:
                cap = self.caps.get(group)
                gsum = group_totals[group]
                if cap is not None and gsum > cap:
                    value *= cap / gsum
            total += value
            if round(value):
                reasons.append(Reason(round(value), label, acc[1], acc[2]))
        return total


def score_many(
    scorer: Scorer,
    leads: Sequence[tuple[Mapping[str, Any], Sequence[tuple[str, datetime]]]],
    now: datetime,
) -> list[Score]:
    """Score many leads with one compiled rule set.

    The cyclic garbage collector is paused meanwhile: scoring allocates millions of short-lived
    objects, none in cycles, and with a big heap each collection would rescan it (~40% of the time).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return [scorer.score(fields, events, now) for fields, events in leads]
    finally:
        if was_enabled:
            gc.enable()


def ago(at: datetime, now: datetime) -> str:
    """`2 days ago`, `3 hours ago`, `just now`: how long ago, for a busy reader (current language)."""
    seconds = (now - at).total_seconds()
    if seconds >= 90:
        if seconds >= 86400:
            n = int(seconds // 86400)
            return ngettext("{n} day ago", "{n} days ago", n).format(n=n)
        if seconds >= 3600:
            n = int(seconds // 3600)
            return ngettext("{n} hour ago", "{n} hours ago", n).format(n=n)
        n = int(seconds // 60)
        return ngettext("{n} minute ago", "{n} minutes ago", n).format(n=n)
    return _("just now")


# The labels of the default rules (core.leads.rules) and of events without one: shown in the
# reader's language. A label a workspace wrote itself is its data and is shown as written.
DEFAULT_LABELS = frozenset((
    N_("target industry"), N_("decision-maker title"), N_("50+ employees"), N_("1000+ employees"),
    N_("referral"), N_("has an email"), N_("company known"), N_("opened an email"), N_("clicked an email"),
    N_("viewed a page"), N_("submitted a form"), N_("demo requested"), N_("meeting booked"),
    N_("unsubscribed"), N_("email open"), N_("email click"), N_("page view"), N_("form submit"),
    N_("demo request"), N_("unsubscribe"),
))


def label_text(label: str) -> str:
    """A reason's label as the reader sees it: a default label translated, the workspace's own as is."""
    return _(label) if label in DEFAULT_LABELS else label


def describe(reason: Reason, now: datetime) -> str:
    """`+25 demo requested 2 days ago` (a reason as shown in Slack, in the current language)."""
    sign = "+" if reason.points >= 0 else "−"
    times = f" ×{reason.times}" if reason.times > 1 else ""
    when = f" {ago(reason.at, now)}" if reason.at else ""
    return f"{sign}{abs(reason.points)} {label_text(reason.label)}{times}{when}"
