"""Load: 20 browser sessions rating and searching at once against one ``streamlit run app.py``.

    python -m benchmarks.bench_load [--sessions 20] [--seconds 120] [--replicas N]

One headless Chromium (Debian's, driven by Playwright's async API) opens one page per session,
each in its own browser context. Every session rates starter movies with its own star value
and searches now and then, pausing ``--think`` seconds on average (uniform, half to one and a
half times) between actions as a person would; a new visitor arrives every second. After each
action a session checks that its "Your ratings (n)" list holds exactly its own ratings (no
session may see another's).

Before the sessions arrive, one warm-up visit per server searches and rates a movie, so the
title index and the models are built as on a server that is already up; its time is reported apart
(``warm_up_s``). The browser runs at the lowest CPU priority (Linux's SCHED_IDLE;
``--same-priority`` turns this off): visitors' browsers do not run on the server, so here the
browser gets whatever CPU the server leaves.

``--replicas N`` runs the same load against nginx in front of N replicas (``python -m deploy``;
profiles in the SQLite file the replicas share); the server figures then add up all replicas.

Reported: errors, the server's own time per script run after the warm-up (the app logs it when
RECOMMENDER_RUN_LOG is set, see ui/timing.py), the latency of each action as the browser sees
it, and the server's memory sampled every 5 s (growth = last third vs middle third).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from benchmarks.server import CHROMIUM, CHROMIUM_ARGS, start_app, stop
from deploy.replicas import deployment

STARS = ["0.5 ★", "1 ★", "1.5 ★", "2 ★", "2.5 ★", "3 ★", "3.5 ★", "4 ★", "4.5 ★", "5 ★"]
ARRIVAL_GAP_S = 1.0
ACTION_TIMEOUT_MS = 120_000  # a starved browser is slow; only a 2-minute wait is an error
QUERIES = ["matrix", "toy story", "godfather", "amelie", "star wars", "alien", "heat 1995"]
STARTER = "st-key-rate-starter-"
KEY_OF = "els => els.map(e => [...e.classList].find(c => c.startsWith('st-key-')))"
SEARCH_KEYS = (
    "[...document.querySelectorAll(\"[class*='st-key-rate-search-']\")]"
    ".map(e => [...e.classList].find(c => c.startsWith('st-key-')))"
)


async def search_keys(page) -> list[str]:
    return await page.evaluate(f"() => {SEARCH_KEYS}")


async def warm_up(browser, url: str) -> float:
    """One visit that searches, rates a movie and waits for the picks: the title index and
    the models are ready after it."""
    started = time.perf_counter()
    page = await browser.new_page(viewport={"width": 1440, "height": 900})
    await page.goto(f"{url}/picks")
    search = page.get_by_placeholder("Find a movie to rate")
    await search.fill(QUERIES[0])
    await search.press("Enter")
    await page.locator("[class*='st-key-rate-search-']").first.wait_for(timeout=600_000)
    await page.locator(f"[class*='{STARTER}'] input").first.click(timeout=600_000)
    await page.keyboard.type("4")
    await page.keyboard.press("Enter")
    await page.locator("[class*='st-key-rate-pick-']").first.wait_for(timeout=600_000)
    await page.close()
    return time.perf_counter() - started


async def session(
    browser, url: str, number: int, until: float, think: float, report: dict
) -> None:
    """One visitor: rate starters with this session's own star value, search, check isolation."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.on("pageerror", lambda error: report["errors"].append(f"session {number}: {error}"))
    stars = STARS[number % len(STARS)]
    rng = np.random.default_rng(number)
    rated: set[str] = set()
    searched_at = 0  # one search per four ratings, even when a new starter page comes between
    try:
        await asyncio.sleep(number * ARRIVAL_GAP_S)  # visitors arrive one after another
        await page.goto(f"{url}/picks", wait_until="commit", timeout=120_000)
        await page.get_by_role("heading", name="Recommended for you").wait_for(timeout=90_000)
        await page.locator(f"[class*='{STARTER}']").first.wait_for(timeout=90_000)
        while time.monotonic() < until:
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            if len(rated) % 4 == 0 and len(rated) > searched_at:
                searched_at = len(rated)
                before = await search_keys(page)
                started = time.perf_counter()
                search = page.get_by_placeholder("Find a movie to rate")
                await search.fill(QUERIES[(number + len(rated)) % len(QUERIES)])
                await search.press("Enter")
                await page.wait_for_function(
                    f"() => {SEARCH_KEYS}.join() !== {json.dumps(','.join(before))}"
                )
                report["search_s"].append(time.perf_counter() - started)
            keys = await page.eval_on_selector_all(f"[class*='{STARTER}']", KEY_OF)
            fresh = [key for key in keys if key and key not in rated]
            if not keys:  # between two renders of the grid
                await page.wait_for_timeout(200)
                continue
            if not fresh:
                await page.locator(".st-key-more-starters button").click()
                await page.wait_for_function(
                    f"() => !document.querySelector('.{keys[0]}')"
                )
                continue
            started = time.perf_counter()
            # Type into the searchable select: low values sit below the dropdown's fold.
            await page.locator(f".{fresh[0]} input").click()
            await page.keyboard.type(stars.split()[0])
            await page.keyboard.press("Enter")
            rated.add(fresh[0])
            # Settled when this session's list shows exactly its own number of ratings.
            try:
                await page.get_by_text(f"Your ratings ({len(rated)})", exact=True).wait_for(
                    timeout=30_000
                )
            except PlaywrightTimeout:
                report["slow"] += 1
                continue
            report["rate_s"].append(time.perf_counter() - started)
            if await page.locator('[data-testid="stException"]').count():
                report["errors"].append(f"session {number}: exception shown on the page")
        # Isolation, once the load is over: the list must show exactly this session's ratings
        # (a lost rating, or another session's, would keep the count from ever matching).
        try:
            await page.get_by_text(f"Your ratings ({len(rated)})", exact=True).wait_for(
                timeout=120_000
            )
        except PlaywrightTimeout:
            report["isolation_failures"].append(f"session {number}: expected {len(rated)}")
    except Exception as error:  # noqa: BLE001 - a benchmark records failures and goes on
        report["errors"].append(f"session {number}: {type(error).__name__}: {error}"[:300])
    finally:
        report["ratings_per_session"].append(len(rated))
        await context.close()


async def drive(
    url: str, sessions: int, seconds: float, think: float, server_pids: list[int],
    warm_urls: list[str],
) -> dict:
    from playwright.async_api import async_playwright

    report: dict = {
        "errors": [], "isolation_failures": [], "rate_s": [], "search_s": [], "slow": 0,
        "ratings_per_session": [], "memory_mb": [],
    }
    processes = [psutil.Process(pid) for pid in server_pids]

    def cpu_seconds() -> float:
        return sum(sum(process.cpu_times()[:2]) for process in processes)

    cpu_at_start = cpu_seconds()

    async def sample_memory(stop: asyncio.Event) -> None:
        while not stop.is_set():
            rss = sum(process.memory_info().rss for process in processes)
            report["memory_mb"].append(round(rss / 2**20, 1))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_memory(stop))
        # Every replica is warmed up directly: nginx would send one visit to one of them only.
        report["warm_up_s"] = round(sum([await warm_up(browser, u) for u in warm_urls]), 1)
        report["sessions_from"] = time.time()  # runs that started earlier were the warm-up's
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(session(browser, url, i, until, think, report) for i in range(sessions))
        )
        stop.set()
        await sampler
        report["server_cpu_s"] = round(cpu_seconds() - cpu_at_start, 1)
        await browser.close()
    return report


def summarise(
    report: dict, sessions: int, seconds: float, think: float, idle_browser: bool, replicas: int
) -> dict:
    def pct(values: list[float]) -> dict:
        if not values:
            return {}
        ms = np.asarray(values) * 1e3
        return {f"p{q}_ms": round(float(np.percentile(ms, q)), 1) for q in (50, 95, 99)}

    memory = report["memory_mb"]
    third = max(len(memory) // 3, 1)
    middle, last = memory[third:2 * third] or memory, memory[-third:]
    return {
        "sessions": sessions,
        "seconds": seconds,
        "replicas_behind_nginx": replicas,
        "think_s_mean": think,
        "browser_at_lowest_cpu_priority": idle_browser,
        "warm_up_s": report["warm_up_s"],
        "server_cpu_s": report["server_cpu_s"],
        "ratings": int(sum(report["ratings_per_session"])),
        "searches": len(report["search_s"]),
        "errors": report["errors"],
        "isolation_failures": report["isolation_failures"],
        "actions_over_30s": report["slow"],
        "server_run": {name: pct(times) for name, times in report["server_runs"].items()},
        "rate_rerun_browser": pct(report["rate_s"]),
        "search_rerun_browser": pct(report["search_s"]),
        "memory_mb_start": memory[0] if memory else None,
        "memory_mb_max": max(memory) if memory else None,
        "memory_mb_growth_last_vs_middle_third": round(float(np.mean(last) - np.mean(middle)), 1)
        if memory else None,
        "memory_samples_mb": memory,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--think", type=float, default=2.0,
                        help="mean pause between a session's actions, in seconds")
    parser.add_argument("--same-priority", dest="idle_browser", action="store_false",
                        help="run the browser at the server's CPU priority")
    parser.add_argument("--replicas", type=int, default=0,
                        help="N app replicas behind nginx (default 0: one server, no nginx)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args(argv)
    if not os.environ.get("MOVIELENS_DIR"):
        raise SystemExit("set MOVIELENS_DIR (ml-latest-small) first")
    with tempfile.TemporaryDirectory() as cache:
        run_log = Path(cache) / "runs.jsonl"
        env = {**os.environ, "RECOMMENDER_CACHE": cache, "RECOMMENDER_DATA": cache,
               "RECOMMENDER_RUN_LOG": str(run_log), "TMDB_API_KEY": "", "TMDB_READ_TOKEN": ""}
        with contextlib.ExitStack() as stack:
            if args.replicas:
                running = stack.enter_context(deployment(args.replicas, env))
                url, pids = running.front_url, running.replica_pids
                warm_urls = running.replica_urls
            else:
                server, url = start_app(env)
                stack.callback(stop, server)
                pids, warm_urls = [server.pid], [url]
            if args.idle_browser:  # this process and the browser it starts, not the server
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            report = asyncio.run(
                drive(url, args.sessions, args.seconds, args.think, pids, warm_urls)
            )
        # Server time per script run, from the app's own log (ui/timing.py), kept beside the
        # results so slow runs can be placed in time.
        args.out.mkdir(parents=True, exist_ok=True)
        if run_log.exists():
            shutil.copyfile(run_log, args.out / "load-runs.jsonl")
        report["server_runs"] = {}
        for line in run_log.read_text().splitlines() if run_log.exists() else []:
            entry = json.loads(line)
            if entry["ended"] - entry["seconds"] >= report["sessions_from"]:
                report["server_runs"].setdefault(entry["run"], []).append(entry["seconds"])
    result = summarise(
        report, args.sessions, args.seconds, args.think, args.idle_browser, args.replicas
    )
    name = f"load-{args.replicas}-replicas.json" if args.replicas else "load.json"
    (args.out / name).write_text(json.dumps(result, indent=2))
    rows = [
        ("sessions × seconds", f"{result['sessions']} × {result['seconds']:.0f}"),
        ("replicas behind nginx", result["replicas_behind_nginx"] or "none (one server)"),
        ("mean pause between actions (s)", result["think_s_mean"]),
        ("browser at the lowest CPU priority", result["browser_at_lowest_cpu_priority"]),
        ("warm-up visit (s)", result["warm_up_s"]),
        ("server CPU time, warm-up included (s)", result["server_cpu_s"]),
        ("ratings / searches", f"{result['ratings']} / {result['searches']}"),
        ("errors", len(result["errors"])),
        ("actions waiting over 30 s", result["actions_over_30s"]),
        *[(f"server {name} run p50/p95/p99 (ms)", "/".join(map(str, times.values())))
          for name, times in result["server_run"].items()],
        ("isolation failures", len(result["isolation_failures"])),
        ("rate → settled p50/p95/p99 (ms)",
         "/".join(map(str, result["rate_rerun_browser"].values()))),
        ("search → settled p50/p95/p99 (ms)",
         "/".join(map(str, result["search_rerun_browser"].values()))),
        ("server memory start / max (MB)",
         f"{result['memory_mb_start']} / {result['memory_mb_max']}"),
        ("memory growth, last vs middle third (MB)",
         result["memory_mb_growth_last_vs_middle_third"]),
    ]
    for name, value in rows:
        print(f"{name:44}{value}")
    print(json.dumps({k: v for k, v in result.items() if k != "memory_samples_mb"}))
    return 0 if not result["errors"] and not result["isolation_failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
