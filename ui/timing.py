"""Server time of each script run, for operators and the load benchmark (opt-in).

Set ``RECOMMENDER_RUN_LOG=/path/file.jsonl`` and every full run and every fragment run appends
one line ``{"run": name, "seconds": s, "ended": unix time}``. Unset, this costs nothing but a
look at the settings (``recommender.settings``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from ui import run_log
from ui.resources import poster_deadline


@contextmanager
def timed_run(name: str) -> Iterator[None]:
    """Time the block (also when it ends by st.rerun or st.stop) and log it if asked to.

    Every run goes through here, so the run's poster deadline starts here too.
    """
    started = time.perf_counter()
    try:
        with poster_deadline():
            yield
    finally:
        run_log.append({"run": name, "seconds": round(time.perf_counter() - started, 5),
                        "ended": round(time.time(), 3)})
