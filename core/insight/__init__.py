"""Figures a manager reads: KPIs, quotas and attainment, the forecast and its backtest, digest figures.

Every figure a user sees is computed here once. Uses core.deals, core.workspace and the kernel.
"""
