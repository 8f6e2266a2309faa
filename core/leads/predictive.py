"""The predictive lead score: a win probability learned from the workspace's own closed leads.

A regularised logistic regression (numpy, Newton's method) over one-hot features: each
categorical field becomes one column per common value (rare ones share "(other)", blanks
"(missing)"), each numeric field is bucketed at its deciles. Old outcomes count less (weight
halves every `half_life_days`), so the model follows a market that moves. Probabilities are
Platt-calibrated on out-of-fold predictions, so "64%" means about 64 of 100 such leads.

A lead's top factors are its fields' contributions to the log-odds, each measured against
the average lead, which is what "why is this lead 64%" means to a rep.

The trained model is plain JSON (stored in workspace_configs "lead_model"); predicting one
lead needs no numpy.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from core.i18n import _, ngettext
from core.leads.logistic import OneHot, fit_onehot, fit_platt, recency_weights, sigmoid

MODEL_FIELDS = ("source", "country", "industry", "employees", "title")
# Fields typed in by sales staff after first contact, or outcome/bookkeeping columns: a model
# that reads them learns the answer from the question (Tags and Lead Quality name the outcome).
EXCLUDED_KEYS = (
    "tags",
    "leadquality",
    "leadprofile",
    "asymmetrique",
    "converted",
    "status",
    "score",
    "hot",
    "owner",
    "leadnumber",
    "prospectid",
    "ref",
    "id",
    "externalid",
    "disqualifyreason",
    "lostreason",
)
MISSING_VALUES = frozenset({"", "select", "na", "n/a", "nan", "none", "null", "-"})
MISSING, OTHER = "(missing)", "(other)"
MIN_LEVEL_COUNT = 5
NUMERIC_BUCKETS = 10
MIN_PER_CLASS = 20
CV_FOLDS = 3
PAIR_FIELDS = 3


def key_of(name: str) -> str:
    """`Lead Quality` -> `leadquality` (how column names are compared)."""
    return re.sub(r"[\s_\-.]+", "", name).casefold()


def is_excluded(name: str, extra: Sequence[str] = ()) -> bool:
    """Is a field left out of the model (filled after contact, an id, or the outcome)?"""
    k = key_of(name)
    return any(k == e or (e == "asymmetrique" and k.startswith(e)) for e in EXCLUDED_KEYS) or k in {
        key_of(x) for x in extra
    }


def feature_values(lead: Mapping[str, Any], exclude: Sequence[str] = ()) -> dict[str, Any]:
    """The raw inputs of the model for one lead: its model fields and free attributes."""
    out: dict[str, Any] = {}
    for f in MODEL_FIELDS:
        out[f] = lead.get(f)
    for k, v in (lead.get("attributes") or {}).items():
        if k not in out and not is_excluded(k, exclude):
            out[k] = v
    return out


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().casefold()
    return None if text in MISSING_VALUES else text


def _num(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        x = float(text.replace(",", ""))
    except ValueError:
        return None
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class Factor:
    """One field's push on a lead's odds: `Lead Source = reference` +2.1 (log-odds)."""

    field: str
    value: str
    weight: float

    def to_json(self) -> dict[str, Any]:
        """As plain data."""
        return {"field": self.field, "value": self.value, "weight": round(self.weight, 3)}


@dataclass(frozen=True)
class Prediction:
    probability: float
    factors: tuple[Factor, ...]


class NotEnoughData(Exception):
    """Too few closed leads to learn from; says how many more are needed."""

    def __init__(self, positives: int, negatives: int) -> None:
        need_pos, need_neg = max(0, MIN_PER_CLASS - positives), max(0, MIN_PER_CLASS - negatives)
        if need_pos and need_neg:
            needs = _("{converted} more converted and {disqualified} more disqualified leads").format(
                converted=need_pos, disqualified=need_neg)
        elif need_pos:
            needs = ngettext("{n} more converted lead", "{n} more converted leads", need_pos).format(n=need_pos)
        else:
            needs = ngettext("{n} more disqualified lead", "{n} more disqualified leads", need_neg).format(n=need_neg)
        super().__init__(
            _("Needs more history to predict: {needs} (has {converted} converted, {disqualified} disqualified). "
              "Using the points score meanwhile.").format(needs=needs, converted=positives, disqualified=negatives)
        )
        self.positives, self.negatives = positives, negatives


# --- encoding -------------------------------------------------------------------------------


Coded = dict[str, list[tuple[int, str]]]


def build_encoding(
    rows: Sequence[Mapping[str, Any]], weights: np.ndarray, labels: np.ndarray
) -> tuple[dict[str, Any], Coded]:
    """Decide per field: numeric (decile buckets) or categorical (common values), or skipped.

    Returns the encoding and each row's (column, bucket) per field, worked out once here and
    used again to build the training matrix.

    The few most telling fields are also crossed in pairs (`Lead Origin & Last Activity`):
    a linear model cannot otherwise say that a visit matters more from one origin than another.
    """
    n = len(rows)
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    fields: dict[str, Any] = {}
    for k in keys:
        cleaned = [_clean(r.get(k)) for r in rows]
        present = [(c, w) for c, w in zip(cleaned, weights, strict=True) if c is not None]
        if len(present) < MIN_LEVEL_COUNT:
            continue
        nums = [_num(c) for c, __ in present]
        numeric = sum(x is not None for x in nums) >= 0.95 * len(present)
        distinct = len({c for c, __ in present})
        if numeric and distinct > 1:
            values = np.array([x for x in nums if x is not None])
            if distinct > 0.9 * n and np.all(values == np.round(values)):
                continue  # a sequence number, not a measurement
            edges = np.unique(np.quantile(values, np.linspace(0, 1, NUMERIC_BUCKETS + 1)[1:-1])).tolist()
            fields[k] = {"type": "num", "edges": edges}
            continue
        if distinct > 0.5 * n:
            continue  # names, emails, ids: nothing to learn that generalises
        counts: dict[str, float] = {}
        for c, __ in present:
            counts[c] = counts.get(c, 0) + 1
        levels = sorted(c for c, m in counts.items() if m >= MIN_LEVEL_COUNT)
        if not levels:
            continue
        fields[k] = {"type": "cat", "levels": levels}
    coded = {k: [_code({**spec, "size": _size(spec)}, r.get(k)) for r in rows] for k, spec in fields.items()}
    _add_pairs(fields, coded, weights, labels)
    # Column layout: each field's columns, then one intercept column at the end.
    offset = 0
    for spec in fields.values():
        spec["offset"], spec["size"] = offset, _size(spec)
        offset += spec["size"]
    return {"fields": fields, "width": offset}, coded


def _size(spec: Mapping[str, Any]) -> int:
    return (len(spec["edges"]) + 1 if spec["type"] == "num" else len(spec["levels"]) + 1) + 1


def _gain(codes: Sequence[str], y: np.ndarray, w: np.ndarray) -> float:
    """Weighted log-loss reduction from knowing a field's bucket (higher = more telling)."""
    totals: dict[str, list[float]] = {}
    for c, yi, wi in zip(codes, y, w, strict=True):
        t = totals.setdefault(c, [0.0, 0.0])
        t[0] += wi
        t[1] += wi * yi

    def ent(n: float, k: float) -> float:
        p = min(max(k / n, 1e-9), 1 - 1e-9)
        return -n * (p * math.log(p) + (1 - p) * math.log(1 - p))

    return ent(float(w.sum()), float((w * y).sum())) - sum(ent(n, k) for n, k in totals.values())


def _add_pairs(fields: dict[str, Any], coded: Coded, w: np.ndarray, y: np.ndarray) -> None:
    labels = {k: [label for __, label in codes] for k, codes in coded.items()}
    ranked = sorted(fields, key=lambda k: -_gain(labels[k], y, w))[:PAIR_FIELDS]
    for i, a in enumerate(ranked):
        for b in ranked[i + 1 :]:
            values = [f"{x} & {z}" for x, z in zip(labels[a], labels[b], strict=True)]
            counts: dict[str, int] = {}
            for v in values:
                counts[v] = counts.get(v, 0) + 1
            levels = sorted(v for v, m in counts.items() if m >= MIN_LEVEL_COUNT)
            spec = {"type": "pair", "of": [a, b], "levels": levels}
            fields[f"{a} & {b}"] = spec
            coded[f"{a} & {b}"] = [_code(spec, v) for v in values]


def _value(fields: Mapping[str, Any], key: str, row: Mapping[str, Any]) -> Any:
    spec = fields[key]
    if spec["type"] == "pair":
        a, b = spec["of"]
        return f"{_code(fields[a], row.get(a))[1]} & {_code(fields[b], row.get(b))[1]}"
    return row.get(key)


def _code(spec: Mapping[str, Any], value: Any) -> tuple[int, str]:
    """Column (within the field) and readable bucket of one value."""
    if spec["type"] == "pair":
        j = bisect.bisect_left(spec["levels"], value)
        if j < len(spec["levels"]) and spec["levels"][j] == value:
            return j, str(value)
        return len(spec["levels"]), OTHER
    c = _clean(value)
    if c is None:
        return spec["size"] - 1, MISSING
    if spec["type"] == "num":
        x = _num(c)
        if x is None:
            return spec["size"] - 1, MISSING
        edges = spec["edges"]
        i = bisect.bisect_right(edges, x)
        lo = f"{edges[i - 1]:g}" if i > 0 else "…"
        hi = f"{edges[i]:g}" if i < len(edges) else "…"
        return i, f"{lo}–{hi}"
    levels = spec["levels"]
    j = bisect.bisect_left(levels, c)
    if j < len(levels) and levels[j] == c:
        return j, c
    return len(levels), OTHER


def encode(encoding: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The one-hot matrix (rows x columns, plus an intercept column of ones)."""
    width = encoding["width"]
    x = np.zeros((len(rows), width + 1))
    x[:, width] = 1.0
    fields = encoding["fields"]
    for k, spec in fields.items():
        cols = [spec["offset"] + _code(spec, _value(fields, k, r))[0] for r in rows]
        x[np.arange(len(rows)), cols] = 1.0
    return x


def train(
    rows: Sequence[Mapping[str, Any]],
    labels: Sequence[int],
    *,
    ages_days: Sequence[float] | None = None,
    half_life_days: float = 180.0,
    trained_at: datetime | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Learn a model (JSON-ready dict) from feature rows and 0/1 outcomes; NotEnoughData if too few."""
    y = np.asarray(labels, dtype=float)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos < MIN_PER_CLASS or neg < MIN_PER_CLASS:
        raise NotEnoughData(pos, neg)
    ages = np.zeros(len(y)) if ages_days is None else np.asarray(ages_days, dtype=float)
    w = recency_weights(ages, half_life_days)
    encoding, coded = build_encoding(rows, w, y)
    specs = list(encoding["fields"].items())
    cols = np.column_stack(
        [np.fromiter((spec["offset"] + c for c, __ in coded[k]), dtype=np.int64, count=len(y)) for k, spec in specs]
    )
    x = OneHot(cols, [s["offset"] for __, s in specs], [s["size"] for __, s in specs], encoding["width"])
    coef = fit_onehot(x, y, w)
    # Out-of-fold log-odds for calibration: in-sample ones are overconfident.
    folds = np.random.default_rng(seed).permutation(len(y)) % CV_FOLDS
    z = np.zeros(len(y))
    for f in range(CV_FOLDS):
        tr = folds != f
        # Starting from the full fit, each fold needs only a step or two.
        z[~tr] = x.rows(~tr).dot(fit_onehot(x.rows(tr), y[tr], w[tr], start=coef))
    a, b = fit_platt(z, y, w)
    # Mean of each field's column weight over the training leads: the "average lead".
    means = x.tdot(w / len(w)) * coef
    for spec in encoding["fields"].values():
        lo, hi = spec["offset"], spec["offset"] + spec["size"]
        spec["coef"] = [round(float(c), 6) for c in coef[lo:hi]]
        spec["mean"] = round(float(means[lo:hi].sum()), 6)
    return {
        "version": 1,
        "trained_at": trained_at.isoformat() if trained_at else None,
        "n": len(y),
        "positives": pos,
        "negatives": neg,
        "half_life_days": half_life_days,
        "fields": encoding["fields"],
        "width": encoding["width"],
        "intercept": float(coef[-1]),
        "platt": [a, b],
    }


def predict(model: Mapping[str, Any], row: Mapping[str, Any], top: int = 3) -> Prediction:
    """Calibrated win probability of one lead and its top factors (pure Python)."""
    z = float(model["intercept"])
    contributions: list[Factor] = []
    for k, spec in model["fields"].items():
        col, label = _code(spec, _value(model["fields"], k, row))
        c = spec["coef"][col]
        z += c
        contributions.append(Factor(k, label, c - spec["mean"]))
    a, b = model["platt"]
    p = 1.0 / (1.0 + math.exp(-max(-35.0, min(35.0, a * z + b))))
    scaled = [Factor(f.field, f.value, a * f.weight) for f in contributions]
    factors = tuple(sorted(scaled, key=lambda f: -abs(f.weight))[:top])
    return Prediction(p, factors)


def predict_many(model: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Calibrated probabilities for many rows at once (vectorised)."""
    enc = {"fields": model["fields"], "width": model["width"]}
    coef = np.zeros(model["width"] + 1)
    for spec in model["fields"].values():
        coef[spec["offset"] : spec["offset"] + spec["size"]] = spec["coef"]
    coef[-1] = model["intercept"]
    a, b = model["platt"]
    return sigmoid(a * (encode(enc, rows) @ coef) + b)


def describe_factor(f: Factor) -> str:
    """`+ Lead Source is reference` / `− Last Activity is olark chat conversation`."""
    sign = "+" if f.weight >= 0 else "−"
    return _("{sign} {field} is {value}").format(sign=sign, field=f.field, value=f.value)
