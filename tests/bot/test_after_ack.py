"""AfterAck: a slash command's work after its ack runs off Bolt's listener thread."""
from __future__ import annotations

import threading

import pytest

from bot.after_ack import AfterAck


def test_inline_mode_runs_the_work_before_returning() -> None:
    done: list[str] = []
    AfterAck(workers=0).run(lambda: done.append("work"))
    assert done == ["work"]


def test_pooled_work_runs_on_another_thread_and_the_caller_returns_at_once() -> None:
    pool = AfterAck(workers=2)
    release, ran_on = threading.Event(), []

    def work() -> None:
        assert release.wait(5)
        ran_on.append(threading.current_thread().name)

    pool.run(work)  # would block here were it inline
    assert ran_on == []
    release.set()
    pool.shutdown()
    assert len(ran_on) == 1 and ran_on[0].startswith("after-ack")


def test_an_error_in_the_work_is_logged_and_the_pool_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    pool = AfterAck(workers=1)
    done: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    pool.run(broken)
    pool.run(lambda: done.append("next"))
    pool.shutdown()
    assert done == ["next"] and "work after an ack failed" in caplog.text
