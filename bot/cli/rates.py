"""`salesbot rates import FILE.csv`: dated exchange rates (SPEC section 2).

Columns `date, currency, rate` (1 unit of the currency = rate in the workspace's base
currency, from that date on). Every row or none: a bad row prints its row, column and
reason and nothing is imported (exit 1). Importing the same file again changes nothing.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from bot.cli.data import _FILE, _TEAM, _fail, _ready_engine, _show_errors, _workspace_id
from core.db import UnitOfWork
from core.errors import UserError
from core.workspace.rates import RateFileError, import_rates


def register(main: click.Group) -> None:
    """Add `rates import` to the `salesbot` command."""

    @main.group("rates")
    def rates_group() -> None:
        """Exchange rates into the workspace's base currency."""

    @rates_group.command("import")
    @click.argument("file", type=_FILE)
    @_TEAM
    @click.pass_context
    def import_rates_cmd(ctx: click.Context, file: Path, team_id: str | None) -> None:
        """Import dated rates from FILE.csv (date, currency, rate): all rows or none."""
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            _fail(ctx, 1, f"{file.name} is not UTF-8 text: save it as CSV (UTF-8)")
        uow = UnitOfWork(_ready_engine(ctx))
        now = datetime.now(UTC)
        ws_id = _workspace_id(ctx, uow, team_id, now)
        try:
            result = import_rates(uow, ws_id, text, now=now)
        except RateFileError as err:
            _show_errors(err.errors)
            bad = len({e.row for e in err.errors})
            _fail(ctx, 1, f"nothing imported: {bad} bad row(s). Fix them and import the file again.")
            return
        except UserError as err:
            _fail(ctx, 1, err.message)
            return
        click.echo(f"Imported rates into {result.base}: {result.created} created, {result.updated} updated, "
                   f"{result.unchanged} unchanged.")
