"""The opt-in run log (``RECOMMENDER_RUN_LOG``): one JSON line per record, whole lines only."""

from __future__ import annotations

import json
import threading
from typing import Any

from recommender.settings import settings

_lock = threading.Lock()  # sessions and the model warm-up write from their own threads


def append(record: dict[str, Any]) -> None:
    """Append ``record`` as one line when a run log is set; nothing otherwise."""
    if path := settings().run_log:
        line = json.dumps(record)
        with _lock, open(path, "a", encoding="utf-8") as log:
            log.write(line + "\n")
