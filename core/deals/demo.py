"""The demo org: a workspace filled with the Maven "CRM Sales Opportunities" data set.

8,800 deals of 30 reps in 6 teams (bot/demo_data/crm-sales-opportunities, see its
SOURCE.md). Used by `salesbot console --demo`, the analytics tests and anyone who wants
a realistic pipeline without typing one in.
"""
from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

from core.db import UnitOfWork
from core.deals.import_rows import ImportReport
from core.deals.importer import import_deals
from core.workspace.workspaces import get_or_create_workspace

DEMO_PACKAGE = "bot"
DEMO_DIR = "demo_data/crm-sales-opportunities"


def demo_data_dir() -> Path:
    """The shipped Maven files, wherever the `bot` package is installed (also from a wheel).

    Found through the package's import spec, which locates `bot` without running it: core
    never imports bot's code (ARCHITECTURE.md), it only reads the data files bot carries.
    """
    spec = importlib.util.find_spec(DEMO_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {DEMO_PACKAGE!r} not found: the demo data ships inside it")
    return Path(next(iter(spec.submodule_search_locations))) / DEMO_DIR


def load_demo_org(uow: UnitOfWork, team_id: str, now: datetime) -> ImportReport:
    """Create (or refresh) workspace `team_id` with the Maven pipeline, teams and list prices.

    Idempotent: a second call finds every deal unchanged. Stages missing from the default
    pipeline (Maven's "Engaging") are added before Won.
    """
    data = demo_data_dir()
    with uow.transaction() as session:
        ws = get_or_create_workspace(session, team_id, now, name="Demo (Maven CRM)")
        return import_deals(
            uow,
            ws.id,
            data / "sales_pipeline.csv",
            now=now,
            teams_csv=data / "sales_teams.csv",
            products_csv=data / "products.csv",
            create_stages=True,
        )
