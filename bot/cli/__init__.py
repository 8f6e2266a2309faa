"""The `salesbot` command. Each group of subcommands lives in its own module:

- bot/cli_data.py: migrate, import, export
- bot/cli_run.py: run, console
- bot/cli_jobs.py: jobs list / jobs run
- bot/cli_leads.py: leads evaluate / rules
- bot/cli_forecast.py: forecast backtest
- bot/cli/rates.py: rates import
Exit codes (SPEC section 8): 0 success, 1 runtime failure, 2 bad usage or configuration.
"""
from __future__ import annotations

import importlib
import logging
import sys

import click

from bot.config import ConfigError, Settings, load_settings

SUBCOMMAND_MODULES = (
    "bot.cli.data", "bot.cli.run", "bot.cli.jobs", "bot.cli.leads", "bot.cli.forecast", "bot.cli.rates",
)


def settings_from(ctx: click.Context) -> Settings:
    """The checked settings; a bad variable exits 2 with one line naming it."""
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:
        try:
            obj["settings"] = load_settings()
        except ConfigError as err:
            click.echo(f"salesbot: {err}", err=True)
            ctx.exit(2)
        logging.basicConfig(
            level=obj["settings"].log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        if obj["settings"].log_level != "DEBUG":
            # Alembic logs every plugin at INFO: keep stderr for our own lines unless debugging.
            logging.getLogger("alembic").setLevel(logging.WARNING)
    settings: Settings = obj["settings"]
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="salesbot")
def main() -> None:
    """salesbot: a self-hosted sales assistant that lives in Slack."""


for _name in SUBCOMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name != _name:
            raise
        continue
    _module.register(main)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
