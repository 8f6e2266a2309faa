"""Deals: create, edit, move, close and reopen; find and list; stage flow; CSV import and export.

Uses core.workspace and the kernel.
"""
