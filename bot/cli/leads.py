"""`salesbot leads ...`: evaluate the predictive score on a CSV, check and set the rules file, train.

salesbot leads evaluate Leads.csv [--seed 0] [--repeat 5] [--test-share 0.25]
salesbot leads rules check rules.yml
salesbot leads rules set rules.yml [--team-id T123]
salesbot leads rules show [--team-id T123]
salesbot leads train [--team-id T123]
"""

from __future__ import annotations

import statistics
from pathlib import Path

import click
from sqlalchemy import select

from bot.cli import settings_from
from bot.clock import utcnow
from core.db import UnitOfWork, make_engine
from core.errors import UserError
from core.leads import csv_io as lead_io
from core.leads import predictive
from core.leads import quality as model_quality
from core.leads import training as lead_model
from core.leads.rescoring import rescore_workspace
from core.leads.rules import DEFAULT_RULES_YAML, RulesInvalid, load_rules, parse_rules, save_rules
from core.tables import Workspace

_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
_TEAM = click.option("--team-id", default=None, help="Slack team id of the workspace (default: the only one).")


def _uow(ctx: click.Context) -> UnitOfWork:
    return UnitOfWork(make_engine(settings_from(ctx).database_url))


def _workspace_id(ctx: click.Context, uow: UnitOfWork, team_id: str | None) -> int:
    with uow.read() as session:
        q = select(Workspace.id, Workspace.team_id)
        rows = session.execute(q.where(Workspace.team_id == team_id) if team_id else q).all()
    if len(rows) == 1:
        return int(rows[0][0])
    if team_id:
        raise click.UsageError(f"No workspace {team_id} in this database.")
    if not rows:
        raise click.UsageError("No workspace yet: install the bot or run an import first.")
    raise click.UsageError(f"Several workspaces ({', '.join(r[1] for r in rows)}): pick one with --team-id.")


def left_out_columns(path: Path, exclude: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """Columns of a leads CSV the model uses, and those it leaves out (with the reason)."""
    from core import csv_mapping as cm

    headers, _ = cm.read_csv(path, "leads file")
    cmap = cm.map_columns(headers, lead_io.LEAD_ALIASES)
    by_index = {i: f for f, i in cmap.index.items()}
    used, left = [], []
    for i, h in enumerate(headers):
        field = by_index.get(i)
        if field == "status":
            left.append(f"{h} (the outcome)")
        elif field is not None and field not in predictive.MODEL_FIELDS:
            left.append(f"{h} (an identifier or contact detail)")
        elif predictive.key_of(h) in {predictive.key_of(x) for x in exclude}:
            left.append(f"{h} (--exclude)")
        elif field is None and predictive.is_excluded(h):
            left.append(f"{h} (filled in by sales staff after contact, or an id)")
        else:
            used.append(h)
    return used, left


def register(main: click.Group) -> None:
    @main.group("leads")
    def leads_group() -> None:
        """Lead scoring: evaluate the predictive model, rules, training."""

    @leads_group.command("evaluate")
    @click.argument("file", type=_FILE)
    @click.option("--seed", default=0, show_default=True, help="Seed of the held-out split.")
    @click.option("--repeat", default=1, show_default=True, help="Also report N different splits and their mean.")
    @click.option("--test-share", default=0.25, show_default=True, help="Share of leads held out.")
    @click.option("--exclude", multiple=True, help="Also leave out this column (repeatable).")
    def evaluate_cmd(file: Path, seed: int, repeat: int, test_share: float, exclude: tuple[str, ...]) -> None:
        """Train on part of FILE.csv, print AUC and calibration on the held-out rest."""
        try:
            rows, labels = lead_io.training_rows(file, exclude)
        except UserError as err:
            raise click.ClickException(err.message) from None
        used, left = left_out_columns(file, exclude)
        pos = sum(labels)
        click.echo(f"{file.name}: {len(labels):,} closed leads, {pos:,} converted ({pos / len(labels):.1%}).")
        click.echo("Left out: " + "; ".join(left))
        click.echo(f"Used: {', '.join(used)}")
        results = []
        for s in range(seed, seed + max(1, repeat)):
            results.append(model_quality.evaluate(rows, labels, test_share=test_share, seed=s))
        first = results[0]
        click.echo(
            f"Held out {first.n_test:,} leads ({test_share:.0%}, stratified, seed {seed}); "
            f"trained on {first.n_train:,} in {first.train_seconds:.2f} s."
        )
        click.echo(
            f"AUC {first.auc:.4f}   ECE {first.ece:.4f}   Brier {first.brier:.4f}   base rate {first.base_rate:.1%}"
        )
        click.echo("Reliability (held-out leads by predicted probability):")
        click.echo(f"  {'bin':<10}{'leads':>7}{'predicted':>11}{'observed':>10}")
        for r in first.table:
            click.echo(f"  {r.low:.1f}–{r.high:.1f}   {r.count:>7}{r.mean_predicted:>10.1%}{r.observed:>10.1%}")
        if len(results) > 1:
            aucs, eces = [r.auc for r in results], [r.ece for r in results]
            click.echo(
                f"Over {len(results)} splits (seeds {seed}-{seed + len(results) - 1}): "
                f"AUC mean {statistics.mean(aucs):.4f} (min {min(aucs):.4f}, max {max(aucs):.4f}), "
                f"ECE mean {statistics.mean(eces):.4f} (max {max(eces):.4f})"
            )

    @leads_group.group("rules")
    def rules_group() -> None:
        """The scoring and territory rules file (YAML)."""

    @rules_group.command("check")
    @click.argument("file", type=_FILE)
    def rules_check(file: Path) -> None:
        """Check a rules file; list every mistake with its line (exit 1 when there are any)."""
        try:
            rules = parse_rules(file.read_text(encoding="utf-8"))
        except RulesInvalid as err:
            for e in err.errors:
                click.echo(f"{file.name}:{e.line}: {e.message}", err=True)
            raise SystemExit(1) from None
        click.echo(
            f"{file.name}: OK — {len(rules['fit'])} fit rule(s), {len(rules['engagement']['events'])} event rule(s), "
            f"{len(rules['territories'])} territor{'y' if len(rules['territories']) == 1 else 'ies'}."
        )

    @rules_group.command("set")
    @click.argument("file", type=_FILE)
    @_TEAM
    @click.pass_context
    def rules_set(ctx: click.Context, file: Path, team_id: str | None) -> None:
        """Check and store a rules file for the workspace (nothing stored if it has mistakes)."""
        text = file.read_text(encoding="utf-8")
        uow = _uow(ctx)
        ws_id = _workspace_id(ctx, uow, team_id)
        try:
            with uow.transaction() as session:
                save_rules(session, ws_id, text, utcnow())
        except RulesInvalid as err:
            for e in err.errors:
                click.echo(f"{file.name}:{e.line}: {e.message}", err=True)
            raise SystemExit(1) from None
        changed = rescore_workspace(uow, ws_id, utcnow())
        click.echo(f"Rules from {file.name} saved; open leads rescored ({changed} changed score).")

    @rules_group.command("show")
    @_TEAM
    @click.pass_context
    def rules_show(ctx: click.Context, team_id: str | None) -> None:
        """Print the workspace's rules file (the defaults when none was set)."""
        uow = _uow(ctx)
        ws_id = _workspace_id(ctx, uow, team_id)
        with uow.read() as session:
            click.echo(load_rules(session, ws_id).get("source") or DEFAULT_RULES_YAML, nl=False)

    @leads_group.command("train")
    @_TEAM
    @click.pass_context
    def train_cmd(ctx: click.Context, team_id: str | None) -> None:
        """Retrain the predictive model now on the workspace's closed leads."""
        uow = _uow(ctx)
        ws_id = _workspace_id(ctx, uow, team_id)
        result = lead_model.train_workspace(uow, ws_id, utcnow())
        if not result.trained:
            click.echo(result.message)
            raise SystemExit(1)
        click.echo(f"Model {result.message} in {result.seconds:.2f} s.")
