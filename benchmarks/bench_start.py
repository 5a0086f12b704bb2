"""App cold and warm start: from ``streamlit run app.py`` to a served, usable Discover page.

    python -m benchmarks.bench_start [--movielens-dir DIR] [--out DIR]

Cold: an empty cache folder, so the first visit loads the CSVs and trains the model. Warm: a
new server on the same cache folder (binary ratings copy and the model on disk), as after a
restart. The page counts as served when headless Chromium shows the Discover search box and
the starter cards. The server warms every model of the switch up in the background
(ui/warmup.py); the benchmark then waits for all of them and reports when each was ready,
in seconds since the server was launched. Prints a table and JSON; writes
``start-<name>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.server import CHROMIUM, CHROMIUM_ARGS, start_app, stop

STARTER_CARD = "[class*='st-key-open-popular-']"
WARM_UP_TIMEOUT_S = 1800  # NMF trains for tens of seconds on ml-latest-small, longer when busy


def models_ready(run_log: Path, launched: float, timeout: float) -> dict[str, dict]:
    """Seconds from launch to each model's warm-up line in the run log (all of ALGORITHMS)."""
    from recommender import ALGORITHMS

    deadline = time.monotonic() + timeout
    while True:
        lines = run_log.read_text().splitlines() if run_log.exists() else []
        entries = [json.loads(line) for line in lines]
        ready = {e["model"]: {"state": e["state"], "s": round(e["ended"] - launched, 2)}
                 for e in entries if e["run"] == "model-warm-up"}
        if set(ALGORITHMS) <= set(ready) or time.monotonic() > deadline:
            return ready
        time.sleep(0.5)


def served_in(folder: Path, cache: Path) -> dict:
    """Seconds from launching the server to its health check, and to a usable Discover page,
    and the server's own time running the page's script (from its run log, ui/timing.py).

    The browser is started first, so its own start-up is not counted against the app.
    """
    from playwright.sync_api import sync_playwright

    run_log = cache / "runs.jsonl"
    run_log.unlink(missing_ok=True)
    env = {**os.environ, "MOVIELENS_DIR": str(folder), "RECOMMENDER_CACHE": str(cache),
           "RECOMMENDER_DATA": str(cache), "RECOMMENDER_RUN_LOG": str(run_log),
           "TMDB_API_KEY": "", "TMDB_READ_TOKEN": ""}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        started = time.perf_counter()
        launched = time.time()
        server, url = start_app(env)
        healthy = time.perf_counter() - started
        try:
            page.goto(url)
            page.get_by_placeholder("Search", exact=False).wait_for(timeout=900_000)
            page.locator(STARTER_CARD).first.wait_for(timeout=900_000)
            served = time.perf_counter() - started
            ready = models_ready(run_log, launched, WARM_UP_TIMEOUT_S)
        finally:
            stop(server, timeout=30)
            browser.close()
    runs = [json.loads(line) for line in run_log.read_text().splitlines()]
    script = sum(run["seconds"] for run in runs if run["run"] == "page")
    return {"healthy_s": round(healthy, 2), "served_s": round(served, 2),
            "script_s": round(script, 2), "models_ready": ready}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens-dir", type=Path, default=os.environ.get("MOVIELENS_DIR"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args(argv)
    if not args.movielens_dir:
        raise SystemExit("set MOVIELENS_DIR or pass --movielens-dir")
    with tempfile.TemporaryDirectory() as cache:
        cold = served_in(args.movielens_dir, Path(cache))
        warm = served_in(args.movielens_dir, Path(cache))
    result = {"data": str(args.movielens_dir), "cold": cold, "warm": warm}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"start-{Path(args.movielens_dir).name}.json").write_text(json.dumps(result))
    print(f"{'':22}{'health check (s)':>18}{'page script (s)':>18}{'page served (s)':>18}")
    for name in ("cold", "warm"):
        times = result[name]
        print(f"{name + ' start':22}{times['healthy_s']:>18}{times['script_s']:>18}"
              f"{times['served_s']:>18}")
    print(f"\n{'model ready (s since launch)':30}{'cold':>10}{'warm':>10}")
    for model in result["cold"]["models_ready"]:
        cells = [result[name]["models_ready"].get(model, {}) for name in ("cold", "warm")]
        print(f"{model:30}" + "".join(
            f"{c.get('s', '-')!s:>10}" if c.get("state", "ready") == "ready" else f"{'failed':>10}"
            for c in cells))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
