"""`salesbot i18n extract|update|compile|check`: the translators' commands (bot/catalogs.py)."""
from __future__ import annotations

import click

from bot import catalogs


def register(main: click.Group) -> None:
    """Add the `i18n` group to the `salesbot` command."""

    @main.group("i18n")
    def i18n_group() -> None:
        """Translation catalogs: extract, update, compile, check."""

    @i18n_group.command("extract")
    def extract_cmd() -> None:
        """Write core/locale/salesbot.pot from the texts in the code."""
        click.echo(f"wrote {catalogs.extract()}")

    @i18n_group.command("update")
    def update_cmd() -> None:
        """Merge the code's texts into each language's .po."""
        for path in catalogs.update():
            click.echo(f"updated {path}")

    @i18n_group.command("compile")
    def compile_cmd() -> None:
        """Write .mo files next to the .po files (the app also compiles at start)."""
        for path in catalogs.compile_catalogs():
            click.echo(f"wrote {path}")

    @i18n_group.command("check")
    @click.pass_context
    def check_cmd(ctx: click.Context) -> None:
        """Exit 1 and list what is untranslated, out of step or malformed."""
        problems = catalogs.check()
        for problem in problems:
            click.echo(problem)
        if problems:
            ctx.exit(1)
        click.echo("catalogs complete")
