"""End-to-end fixtures: the installed `salesbot` command as a real process.

`salesbot_process(env)` starts `salesbot run` (or any subcommand) with a clean environment,
waits for its "running" line on stderr (no sleeps: a reader thread and a deadline), and stops
it with SIGTERM at the end. `free_port()` picks a port (waitress cannot bind port 0 for us to
read back). The fake Slack Web API comes from tests/bot/fake_slack.py.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.bot.fake_slack import FakeSlack, running_fake_slack

SALESBOT = str(Path(sys.executable).with_name("salesbot"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    """A clean environment: nothing from the developer's shell or .env leaks in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LOG_LEVEL": "WARNING",
        "SALESBOT_SCHEDULER": "off",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


@dataclass
class Running:
    proc: subprocess.Popen[str]
    port: int
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    stderr: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for_line(self, needle: str, timeout: float = 30) -> str:
        """Block until stderr shows a line containing `needle` (or the process ends)."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {needle!r} within {timeout}s; stderr so far: {self.stderr}") from None
            if line == "":
                raise AssertionError(f"salesbot exited ({self.proc.poll()}) before {needle!r}: {self.stderr}")
            if needle in line:
                return line

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return int(self.proc.returncode)


def start(args: list[str], env: dict[str, str], port: int) -> Running:
    proc = subprocess.Popen(
        [SALESBOT, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=env.get("SALESBOT_TEST_CWD", "/tmp"),
    )
    running = Running(proc, port)

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            running.stderr.append(line.rstrip())
            running.lines.put(line)
        running.lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    return running


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with running_fake_slack() as fake:
        yield fake


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'salesbot.db'}"


@pytest.fixture
def launch() -> Iterator[object]:
    """launch(args, env, port) -> Running; every process is stopped at the end."""
    started: list[Running] = []

    def _launch(args: list[str], env: dict[str, str], port: int) -> Running:
        running = start(args, env, port)
        started.append(running)
        return running

    yield _launch
    for running in started:
        running.stop()
