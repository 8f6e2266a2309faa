"""The `salesbot` command. Each group of subcommands lives in its own module of this package:

- bot/cli/data.py: migrate, import, export
- bot/cli/run.py: run, console
- bot/cli/jobs.py: jobs list / jobs run
- bot/cli/leads.py: leads evaluate / rules / train
- bot/cli/forecast.py: forecast backtest / show
- bot/cli/rates.py: rates import
- bot/cli/i18n.py: i18n extract / update / compile / check
- bot/cli/keys.py: keys generate / rotate (the key stored Slack tokens are encrypted with)
- bot/cli/installs.py: installs list / set-aside (workspace status, messages set aside)
Each has `register(main)`, called at the bottom of this file (the modules import
`settings_from` from here, so they are imported after it is defined).
Exit codes (SPEC section 8): 0 success, 1 runtime failure, 2 bad usage or configuration.
"""
from __future__ import annotations

import sys

import click

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging


def settings_from(ctx: click.Context) -> Settings:
    """The checked settings; a bad variable exits 2 with one line naming it."""
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:
        try:
            obj["settings"] = load_settings()
        except ConfigError as err:
            click.echo(f"salesbot: {err}", err=True)
            ctx.exit(2)
        # Text or JSON lines at LOG_LEVEL, tokens, secrets and e-mail addresses redacted (bot/logs.py).
        configure_logging(obj["settings"])
    settings: Settings = obj["settings"]
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="salesbot")
def main() -> None:
    """salesbot: a self-hosted sales assistant that lives in Slack."""


# The subcommand modules import settings_from above: they come after it, on purpose.
from bot.cli import data, forecast, i18n, installs, jobs, keys, leads, rates, run  # noqa: E402

SUBCOMMAND_MODULES = (data, run, jobs, leads, forecast, rates, i18n, keys, installs)
for _module in SUBCOMMAND_MODULES:
    _module.register(main)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
