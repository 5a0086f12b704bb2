"""Every model of the switch, loaded or trained on one background thread at server start.

No visitor should wait for a model: the first page run starts a :class:`ModelWarmer`, which
loads each model from disk (seconds after a restart) or trains it (the first time), default
model first. Pages ask :meth:`ModelWarmer.state` and serve another model while the chosen one
is still warming. Nothing here touches Streamlit: the thread runs outside any script run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Literal

from recommender import Recommender
from ui import run_log

log = logging.getLogger(__name__)

State = Literal["ready", "warming", "failed"]


class ModelWarmer:
    """Loads ``algorithms`` in order with ``load(algorithm)`` on a daemon thread.

    ``ready_s`` holds, per model, the seconds from the start to when it was ready (or failed).
    A failure is kept until :meth:`retry` succeeds, so a page can say why and try again.
    Each result is also appended to the run log (``settings().run_log``) when one is set.
    """

    def __init__(self, algorithms: Sequence[str], load: Callable[[str], Recommender]):
        self.algorithms = tuple(dict.fromkeys(algorithms))
        self._load = load
        self._models: dict[str, Recommender] = {}
        self._errors: dict[str, BaseException] = {}
        self._done = {name: threading.Event() for name in self.algorithms}
        self.ready_s: dict[str, float] = {}
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="model-warm-up", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for algorithm in self.algorithms:
            try:
                self._models[algorithm] = self._load(algorithm)
            except Exception as error:  # kept, and raised to whoever asks for this model
                log.exception("Warming up %s failed", algorithm)
                self._errors[algorithm] = error
            self._finish(algorithm)

    def _finish(self, algorithm: str) -> None:
        seconds = round(time.perf_counter() - self._started, 3)
        self.ready_s[algorithm] = seconds
        self._done[algorithm].set()
        state = "failed" if algorithm in self._errors else "ready"
        run_log.append({"run": "model-warm-up", "model": algorithm, "state": state,
                        "seconds": seconds, "ended": round(time.time(), 3)})

    def state(self, algorithm: str) -> State:
        """"ready", "warming" (not loaded yet) or "failed"."""
        if algorithm in self._models:
            return "ready"
        return "failed" if algorithm in self._errors else "warming"

    def wait(self, algorithm: str, timeout: float | None = None) -> Recommender | None:
        """The model once it is ready; None after ``timeout`` seconds; raises its failure."""
        if algorithm not in self._done:
            raise ValueError(f"{algorithm!r} is not warmed up here; known: {self.algorithms}")
        if not self._done[algorithm].wait(timeout):
            return None
        if algorithm in self._errors:
            raise self._errors[algorithm]
        return self._models[algorithm]

    def retry(self, algorithm: str) -> Recommender:
        """Load a failed model again on the calling thread; raises if it fails again."""
        model = self._load(algorithm)
        self._models[algorithm] = model
        self._errors.pop(algorithm, None)
        return model
