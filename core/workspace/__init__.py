"""A workspace and the people in it: setup, teams and roles, users and who may do what.

Uses the kernel only.
"""
