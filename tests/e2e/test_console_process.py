"""`salesbot console` as a process, scripted through a pipe (SPEC 8)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.conftest import SALESBOT, base_env


def console(script: str, *args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = base_env(DATABASE_URL=f"sqlite:///{db}")
    return subprocess.run(
        [SALESBOT, "console", *args], input=script, env=env, capture_output=True, text=True, timeout=120, cwd="/tmp"
    )


def test_piped_script(tmp_path: Path) -> None:
    result = console(
        "/deal new Acme 12k\n/deal list\n", "--as", "U123", "--now", "2026-11-23T09:00Z", db=tmp_path / "c.db"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "> /deal new Acme 12k" in out and "> /deal list" in out
    assert "Acme" in out and "$12,000.00" in out
    assert "(:click " in out
    assert "Traceback" not in result.stderr


def test_state_persists_between_runs(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    assert console("/deal new Acme 12k\n", "--as", "U123", db=db).returncode == 0
    result = console("/deal list\n", "--as", "U123", db=db)
    assert result.returncode == 0 and "Acme" in result.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = console("not a command\n", db=tmp_path / "c.db")
    assert result.returncode == 2
    bad_now = console("", "--now", "someday", db=tmp_path / "c.db")
    assert bad_now.returncode == 2 and "--now" in bad_now.stderr
    bad_tz = console("", "--tz", "Mars/Olympus", db=tmp_path / "c.db")
    assert bad_tz.returncode == 2 and "--tz" in bad_tz.stderr
    assert len(bad_tz.stderr.strip().splitlines()) == 1


def test_demo_org(tmp_path: Path) -> None:
    result = console("/pipeline\n", "--demo", "--as", "U123", "--now", "2026-11-23T09:00Z", db=tmp_path / "d.db")
    assert result.returncode == 0, result.stderr
    assert "Demo organisation loaded: 8800 deals created" in result.stdout
    assert "> /pipeline" in result.stdout and "open deals" in result.stdout


def test_demo_starts_as_its_manager_inside_the_data_and_a_modal_answers(tmp_path: Path) -> None:
    script = (
        "/pipeline\n/pipeline forecast\n/pipeline digest\n:home\n"
        "/deal new Console test 2k\n:click deal_lost D-8801\n:submit reason=\"no budget\"\n"
    )
    result = console(script, "--demo", db=tmp_path / "d.db")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "You are Dustin Brinkmann (manager of team Dustin Brinkmann)" in out
    assert 'with --as and a name or Slack id, e.g. --as "Darcel Schlecht" (a rep)' in out
    assert "The clock is at Monday 2017-09-25 13:00 UTC" in out
    assert "TEAM DUSTIN BRINKMANN" in out.upper() and "2017-Q3" in out and "25 Sep" in out
    after_submit = out.split('> :submit reason="no budget"', 1)[1]
    assert "-- only you see, replaces the message --" in after_submit and "D-8801" in after_submit
    assert "Traceback" not in result.stderr and "console://" not in result.stderr, result.stderr


def test_as_a_demo_name_and_now_with_a_zone(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    result = console(
        "/deal list\n", "--demo", "--as", "Darcel Schlecht", "--now", "2017-09-25 16:00 Europe/Istanbul", db=db
    )
    assert result.returncode == 0, result.stderr
    assert "You are Darcel Schlecht (rep of team Melvin Marxen)" in result.stdout
    assert "Monday 2017-09-25 13:00 UTC: --now was given in Europe/Istanbul (16:00 there)" in result.stdout
    unknown = console("", "--demo", "--as", "Nobody Here", db=db)
    assert unknown.returncode == 2 and "nobody of that name" in unknown.stdout
    plain = console("", "--now", "2017-09-25T13:00", db=tmp_path / "p.db")
    assert plain.returncode == 0, plain.stderr
    assert "--now named no zone, so it was read as UTC" in plain.stdout
    offset = console("", "--now", "2017-09-25T13:00+03:00", db=tmp_path / "p.db")
    assert "2017-09-25 10:00 UTC: --now was given in UTC+03:00 (13:00 there)" in offset.stdout
    bad = console("", "--now", "2017-09-25 13:00 Mars/Olympus", db=tmp_path / "p.db")
    assert bad.returncode == 2 and "Mars/Olympus" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
