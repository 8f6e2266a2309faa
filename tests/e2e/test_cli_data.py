"""`salesbot migrate / import / export` run as a real subprocess against SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MAVEN_DIR

SALESBOT = str(Path(sys.executable).parent / "salesbot")


def run(db_url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SALESBOT_"))}
    env.update(DATABASE_URL=db_url, LOG_LEVEL="WARNING", COLUMNS="200")
    return subprocess.run([SALESBOT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_migrate_a_fresh_database_twice(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    from core.db import alembic_config

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    for _ in range(2):
        done = run(url, "migrate", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"revision {head}" in done.stdout


def test_import_migrates_a_fresh_database_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    path = tmp_path / "deals.csv"
    path.write_text("title,stage,amount\nAcme,Qualified,12000\n", encoding="utf-8")
    done = run(url, "import", "deals", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 created" in done.stdout
    exported = run(url, "export", "deals", cwd=tmp_path)
    assert [(r["ref"], r["title"], r["amount"]) for r in csv_rows(exported.stdout)] == [("D-1", "Acme", "12000.00")]


@pytest.mark.both_backends
def test_maven_import_export_round_trip(db_url: str, tmp_path: Path) -> None:
    done = run(
        db_url,
        "import",
        "deals",
        str(MAVEN_DIR / "sales_pipeline.csv"),
        "--teams",
        str(MAVEN_DIR / "sales_teams.csv"),
        "--products",
        str(MAVEN_DIR / "products.csv"),
        "--create-stages",
        "--team-id",
        "TDEMO",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "8800 created" in done.stdout and "Stages added: Engaging" in done.stdout
    assert "8800/8800" in done.stderr  # a big file shows its progress bar

    first = run(db_url, "export", "deals", cwd=tmp_path)  # the only workspace
    assert first.returncode == 0, first.stderr
    rows = csv_rows(first.stdout)
    assert len(rows) == 8800 and rows[0]["ref"] == "D-1"
    assert sum(1 for r in rows if r["stage"] == "Won") == 4238

    export_file = tmp_path / "export.csv"
    export_file.write_text(first.stdout, encoding="utf-8")
    again = run(db_url, "import", "deals", str(export_file), "--team-id", "TCOPY", "--create-stages", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    second = run(db_url, "export", "deals", "--team-id", "TCOPY", cwd=tmp_path)
    assert second.stdout == first.stdout

    # two workspaces now: the CLI will not guess
    ambiguous = run(db_url, "export", "deals", cwd=tmp_path)
    assert ambiguous.returncode == 2 and "--team-id" in ambiguous.stderr

    activities = run(db_url, "export", "activities", "--team-id", "TDEMO", cwd=tmp_path)
    assert activities.returncode == 0 and activities.stdout == "deal_ref,lead_ref,kind,by,at,text\n"


def test_bad_rows_print_a_table_exit_1_and_import_nothing(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "title,stage,amount,close_date\nGood,Qualified,10,2027-01-01\nBad date,Qualified,5,2017-02-30\n"
        "Bad stage,Closing,5,2027-01-01\n",
        encoding="utf-8",
    )
    done = run(db_url, "import", "deals", str(path), "--team-id", "T1", cwd=tmp_path)
    assert done.returncode == 1
    for text in (
        "row",
        "column",
        "value",
        "reason",
        "close_date",
        "2017-02-30",
        "not a real date",
        'stage "Closing" is not in the pipeline (1 row): add --create-stages to create it, '
        "or add it in /salesbot pipeline",
        "nothing imported",
        "--skip-bad-rows",
    ):
        assert text in done.stderr, text
    assert run(db_url, "export", "deals", cwd=tmp_path).stdout.count("\n") == 1  # the header only

    skipped = run(db_url, "import", "deals", str(path), "--skip-bad-rows", cwd=tmp_path)
    assert skipped.returncode == 1  # rows were bad, even though the good one went in
    assert "1 created" in skipped.stdout and "2 skipped" in skipped.stdout and "Closing" in skipped.stderr
    assert [r["title"] for r in csv_rows(run(db_url, "export", "deals", cwd=tmp_path).stdout)] == ["Good"]


def test_maven_file_without_create_stages_says_once_per_unknown_stage(db_url: str, tmp_path: Path) -> None:
    """1,589 rows name the stage "Engaging": one grouped line with the count and the flag, not 1,589 rows."""
    path = tmp_path / "pipeline.csv"
    lines = (MAVEN_DIR / "sales_pipeline.csv").read_text(encoding="utf-8").splitlines()
    # Two rows of their own make other errors, which are still listed row by row.
    header = lines[0].split(",")
    first = dict(zip(header, lines[1].split(","), strict=True))
    odd_rows = (("ZZBADDAT", {"close_date": "2017-02-30"}), ("ZZDORMAN", {"deal_stage": "Dormant"}))
    for opportunity, changes in odd_rows:
        row = first | changes | {"opportunity_id": opportunity}
        lines.append(",".join(row[h] for h in header))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run(db_url, "import", "deals", str(path), "--team-id", "T1", cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    assert ('stage "Engaging" is not in the pipeline (1,589 rows): add --create-stages to create it, '
            "or add it in /salesbot pipeline") in done.stderr
    assert 'stage "Dormant" is not in the pipeline (1 row)' in done.stderr
    assert done.stderr.count("Engaging") == 1  # said once, not per row
    assert "Rows with errors" in done.stderr and "2017-02-30" in done.stderr and "not a real date" in done.stderr
    assert "nothing imported: 1,591 bad row(s)" in done.stderr
    assert len(done.stderr.splitlines()) < 20, done.stderr
    assert run(db_url, "export", "deals", "--team-id", "T1", cwd=tmp_path).stdout.count("\n") == 1


def test_many_rows_with_one_lead_error_are_said_once(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    rows = [f"Lead {i},lead{i}@example.com,maybe,2027-01-01" for i in range(40)]
    rows.append("Odd,odd@example.com,new,yesterday")
    path.write_text("name,email,status,created_at\n" + "\n".join(rows) + "\n", encoding="utf-8")
    done = run(db_url, "import", "leads", str(path), "--team-id", "T1", cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    assert done.stderr.count('"maybe"') == 1 and "(40 rows: 2, 3, 4, 5, 6, …)" in done.stderr
    assert "yesterday" in done.stderr and "not an ISO date" in done.stderr  # the odd one, row by row
    assert "nothing imported: 41 bad row(s)" in done.stderr


def test_file_level_errors_exit_1_with_the_reason(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "nostage.csv"
    path.write_text("title,amount\nAcme,10\n", encoding="utf-8")
    done = run(db_url, "import", "deals", str(path), cwd=tmp_path)
    assert done.returncode == 1 and 'Missing column "stage"' in done.stderr and "deal_stage" in done.stderr
    path.write_text("title;stage\nAcme;Won\n", encoding="utf-8")
    done = run(db_url, "import", "deals", str(path), cwd=tmp_path)
    assert done.returncode == 1 and "semicolons" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("import", "deals", "/no/such/file.csv"),
        ("import", "contacts", "x.csv"),
        ("export", "contacts"),
        ("import",),
    ],
)
def test_usage_errors_exit_2(db_url: str, tmp_path: Path, args: tuple[str, ...]) -> None:
    done = run(db_url, *args, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)


def test_lead_import_and_export_are_delegated(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("name,email\nAda,ada@example.com\n", encoding="utf-8")
    done = run(db_url, "import", "leads", str(path), "--team-id", "T1", cwd=tmp_path)
    exported = run(db_url, "export", "leads", "--team-id", "T1", cwd=tmp_path)
    # delegated to core.leads.csv_io
    assert done.returncode == 0, done.stderr
    assert "1 created" in done.stdout
    assert exported.returncode == 0, exported.stderr
    assert [r["email"] for r in csv_rows(exported.stdout)] == ["ada@example.com"]


def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text("title,stage\nAcme,Qualified\n", encoding="utf-8")
    done = run("postgresql://127.0.0.1:1/nowhere", "import", "deals", str(path), cwd=tmp_path)
    assert done.returncode == 1
    assert "the database is not ready" in done.stderr and "DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_one_workspace_install_the_cli_targets_the_tokens_workspace(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    from tests.bot.fake_slack import running_fake_slack

    url = f"sqlite:///{tmp_path / 'one.db'}"
    path = tmp_path / "deals.csv"
    path.write_text("title,stage,amount\nAcme,Qualified,12000\n", encoding="utf-8")
    # Imported before Slack was set up: a local workspace.
    assert run(url, "import", "deals", str(path), cwd=tmp_path).returncode == 0
    # The console's own workspace does not make the CLI ambiguous.
    console = subprocess.run([SALESBOT, "console"], input="/deal new Sandbox 1k\n", cwd=tmp_path, text=True,
                             capture_output=True, timeout=300,
                             env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    assert console.returncode == 0, console.stderr
    assert [r["title"] for r in csv_rows(run(url, "export", "deals", cwd=tmp_path).stdout)] == ["Acme"]
    with running_fake_slack(team_id="TREAL") as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SALESBOT_"))}
        env.update(DATABASE_URL=url, LOG_LEVEL="WARNING", SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=fake.url)
        exported = subprocess.run([SALESBOT, "export", "deals"], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=300)
        assert exported.returncode == 0, exported.stderr
        assert [r["title"] for r in csv_rows(exported.stdout)] == ["Acme"]  # T-LOCAL became the token's workspace
        assert fake.calls("auth.test")
        again = subprocess.run([SALESBOT, "import", "deals", str(path)], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=300)
        assert again.returncode == 0 and "1 unchanged" in again.stdout, again.stdout + again.stderr
        fake.fail_next("auth.test", 1, status=200, error="invalid_auth")
        refused = subprocess.run([SALESBOT, "export", "deals"], cwd=tmp_path, env=env, capture_output=True,
                                 text=True, timeout=300)
        assert refused.returncode == 2 and "SLACK_BOT_TOKEN" in refused.stderr and "invalid_auth" in refused.stderr
    engine = create_engine(url)
    with engine.connect() as conn:
        teams = sorted(r[0] for r in conn.execute(text("SELECT team_id FROM workspaces")))
    engine.dispose()
    assert teams == ["T0CONSOLE", "TREAL"]
