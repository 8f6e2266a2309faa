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
