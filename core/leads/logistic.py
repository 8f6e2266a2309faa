"""Regularised logistic regression by Newton's method, in numpy: the math under core.leads.predictive.

Weighted samples, an unpenalised intercept (the last column), and a one-hot design matrix
kept as column indices (`OneHot`) so the Hessian costs bincounts, not dense products.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

L2 = 3.0


def sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))
    return out


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    l2: float | None = None,
    iterations: int = 25,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Weighted L2-regularised logistic regression by Newton's method (intercept unpenalised)."""
    d = x.shape[1]
    coef = np.zeros(d) if start is None else start.copy()
    penalty = np.full(d, L2 if l2 is None else l2)
    penalty[-1] = 0.0
    # The Hessian in float32: half the time of the one big product, and Newton does not mind.
    x32 = x.astype(np.float32)
    for _ in range(iterations):
        p = sigmoid(x @ coef)
        grad = x.T @ (w * (p - y)) + penalty * coef
        h = ((x32 * (w * p * (1 - p)).astype(np.float32)[:, None]).T @ x32).astype(np.float64)
        step = np.linalg.solve(h + np.diag(penalty + 1e-9), grad)
        coef -= step
        if np.max(np.abs(step)) < 1e-5:
            break
    return coef


class OneHot:
    """The training matrix kept as column indices (rows x fields), never as a dense matrix.

    Each row has exactly one column set per field, so X @ b is a gather, X^T r a bincount, and
    each block of X^T S X a bincount over two fields' columns: ~10x less work than dense
    products over the mostly-zero matrix.
    """

    def __init__(self, cols: np.ndarray, offsets: Sequence[int], sizes: Sequence[int], width: int) -> None:
        self.cols, self.offsets, self.sizes, self.width = cols, list(offsets), list(sizes), width

    def rows(self, mask: np.ndarray) -> OneHot:
        return OneHot(self.cols[mask], self.offsets, self.sizes, self.width)

    def dot(self, coef: np.ndarray) -> np.ndarray:
        out: np.ndarray = coef[self.cols].sum(axis=1) + coef[-1]
        return out

    def tdot(self, r: np.ndarray) -> np.ndarray:
        fields = self.cols.shape[1]
        out = np.bincount(self.cols.ravel(), weights=np.repeat(r, fields), minlength=self.width + 1)
        out[-1] = r.sum()
        return out

    def gram(self, s: np.ndarray) -> np.ndarray:
        """X^T diag(s) X, block by block."""
        h = np.zeros((self.width + 1, self.width + 1))
        local = self.cols - np.asarray(self.offsets)
        for f, (off_f, size_f) in enumerate(zip(self.offsets, self.sizes, strict=True)):
            diag = np.bincount(local[:, f], weights=s, minlength=size_f)
            idx = np.arange(off_f, off_f + size_f)
            h[idx, idx] += diag
            h[idx, -1] = h[-1, idx] = diag
            for g in range(f + 1, len(self.offsets)):
                off_g, size_g = self.offsets[g], self.sizes[g]
                block = np.bincount(local[:, f] * size_g + local[:, g], weights=s, minlength=size_f * size_g)
                block = block.reshape(size_f, size_g)
                h[off_f : off_f + size_f, off_g : off_g + size_g] = block
                h[off_g : off_g + size_g, off_f : off_f + size_f] = block.T
        h[-1, -1] = s.sum()
        return h


def fit_onehot(
    x: OneHot,
    y: np.ndarray,
    w: np.ndarray,
    l2: float | None = None,
    iterations: int = 25,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """fit_logistic over a OneHot matrix (same Newton steps, sparse arithmetic)."""
    d = x.width + 1
    coef = np.zeros(d) if start is None else start.copy()
    penalty = np.full(d, L2 if l2 is None else l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = sigmoid(x.dot(coef))
        grad = x.tdot(w * (p - y)) + penalty * coef
        step = np.linalg.solve(x.gram(w * p * (1 - p)) + np.diag(penalty + 1e-9), grad)
        coef -= step
        if np.max(np.abs(step)) < 1e-5:
            break
    return coef


def fit_platt(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Slope and offset mapping raw log-odds to calibrated ones (a 1-D logistic fit)."""
    x = np.column_stack([z, np.ones_like(z)])
    a, b = fit_logistic(x, y, w, l2=1e-6)
    return float(a), float(b)


def recency_weights(ages_days: np.ndarray, half_life_days: float) -> np.ndarray:
    """Sample weights halving every half-life, normalised to mean 1."""
    w: np.ndarray = np.power(0.5, np.maximum(ages_days, 0) / half_life_days)
    return w / w.mean() if len(w) else w
