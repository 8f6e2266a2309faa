"""Work a listener does after its ack, on a pool of its own.

Bolt runs each listener on its listener executor and answers Slack's HTTP request once the
listener has called ack(). A slash command that acked and then saved a deal kept its executor
thread for the whole save; under a burst every thread was busy saving, and the next requests
could not even start to ack. Handing the work to this pool returns the executor thread at
once, so an ack waits for nothing but the CPU. `workers=0` runs the work inline (tests and the
console, where dispatch returns only when everything is done).
"""
from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

logger = logging.getLogger(__name__)


class AfterAck:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="after-ack") if workers else None

    def __deepcopy__(self, memo: dict[int, Any]) -> AfterAck:
        # Bolt deep-copies the context for some listeners; the pool is shared, not copied.
        return self

    def run(self, work: Callable[[], None]) -> None:
        """Run `work` now (inline) or soon (pooled); its errors are logged, never raised."""
        if self._pool is None:
            _logged(work)
            return
        # The work runs in the request's context: its language (core.i18n) comes along.
        self._pool.submit(contextvars.copy_context().run, _logged, work)

    def shutdown(self) -> None:
        """Finish the queued work (at server stop)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def _logged(work: Callable[[], None]) -> None:
    try:
        work()
    except Exception:  # the listener's own error handling answers the user; this is the last net
        logger.exception("work after an ack failed")
