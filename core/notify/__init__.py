"""Proactive work: reminders, nudges, the weekly digest, local send times, and the outbox.

Uses core.insight, core.deals, core.workspace and the kernel.
"""
