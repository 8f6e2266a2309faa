"""Honest quality figures for the predictive score: AUC, calibration (ECE), a reliability table.

`evaluate` holds out a stratified share of the leads, trains on the rest exactly as the
product does (core.leads.predictive.train), and measures on leads the model never saw.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.leads import predictive


@dataclass(frozen=True)
class ReliabilityRow:
    low: float
    high: float
    count: int
    mean_predicted: float
    observed: float


@dataclass(frozen=True)
class Evaluation:
    n_train: int
    n_test: int
    auc: float
    ece: float
    brier: float
    base_rate: float
    table: tuple[ReliabilityRow, ...]
    train_seconds: float
    features: tuple[str, ...]


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    y = np.asarray(y, dtype=float)
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = np.asarray(p)[order]
    # Average ranks over ties.
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and sorted_p[j + 1] == sorted_p[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    pos = y.sum()
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> tuple[ReliabilityRow, ...]:
    """Predicted vs observed rate in equal-width probability bins (empty bins left out)."""
    rows = []
    idx = np.minimum((p * bins).astype(int), bins - 1)
    for b in range(bins):
        mask = idx == b
        if mask.any():
            rows.append(
                ReliabilityRow(b / bins, (b + 1) / bins, int(mask.sum()), float(p[mask].mean()), float(y[mask].mean()))
            )
    return tuple(rows)


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the count-weighted gap between predicted and observed rates."""
    table = reliability(y, p, bins)
    return float(sum(r.count * abs(r.mean_predicted - r.observed) for r in table) / max(1, len(y)))


def stratified_split(labels: Sequence[int], test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with the same outcome mix in both."""
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test: list[int] = []
    for value in (0, 1):
        idx = np.flatnonzero(y == value)
        rng.shuffle(idx)
        test.extend(idx[: round(len(idx) * test_share)].tolist())
    mask = np.zeros(len(y), dtype=bool)
    mask[test] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def evaluate(
    rows: Sequence[Mapping[str, Any]], labels: Sequence[int], *, test_share: float = 0.25, seed: int = 0
) -> Evaluation:
    """Train on a stratified share of the leads and measure on the held-out rest."""
    y = np.asarray(labels, dtype=float)
    tr, te = stratified_split(labels, test_share, seed)
    started = time.perf_counter()
    model = predictive.train([rows[i] for i in tr], [int(labels[i]) for i in tr])
    seconds = time.perf_counter() - started
    p = predictive.predict_many(model, [rows[i] for i in te])
    yt = y[te]
    return Evaluation(
        n_train=len(tr),
        n_test=len(te),
        auc=auc(yt, p),
        ece=ece(yt, p),
        brier=float(np.mean((p - yt) ** 2)),
        base_rate=float(yt.mean()),
        table=reliability(yt, p),
        train_seconds=seconds,
        features=tuple(model["fields"]),
    )
