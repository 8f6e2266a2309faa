"""Leads: intake, CSV, engagement events, rules and points, the predictive model, routing, alerts.

"Model" in this package means the learned lead model (predictive.py, trained by training.py,
judged by quality.py); database tables live in core.tables. Uses core.notify, core.deals,
core.workspace and the kernel.
"""
