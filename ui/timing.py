"""Server time of each script run, for operators and the load benchmark (opt-in).

Set ``RECOMMENDER_RUN_LOG=/path/file.jsonl`` and every full run and every fragment run appends
one line ``{"run": name, "seconds": s, "ended": unix time}``. Unset, this costs nothing but a
look at the settings (``recommender.settings``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from recommender.settings import settings
from ui.resources import poster_deadline

_lock = threading.Lock()  # sessions run in threads; whole lines only


@contextmanager
def timed_run(name: str) -> Iterator[None]:
    """Time the block (also when it ends by st.rerun or st.stop) and log it if asked to.

    Every run goes through here, so the run's poster deadline starts here too.
    """
    path = settings().run_log
    started = time.perf_counter()
    try:
        with poster_deadline():
            yield
    finally:
        if path:
            line = json.dumps({"run": name, "seconds": round(time.perf_counter() - started, 5),
                               "ended": round(time.time(), 3)})
            with _lock, open(path, "a", encoding="utf-8") as log:
                log.write(line + "\n")
