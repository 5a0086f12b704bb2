"""``python -m deploy --replicas N [--port 8080] [--database-url postgresql://...]``

Starts N replicas of the app and nginx in front of them with session affinity, prints the
addresses and runs until interrupted (Ctrl-C), then stops everything it started. Replicas
share the profile store: RECOMMENDER_DATABASE_URL (or --database-url), else the SQLite file
in RECOMMENDER_DATA, which replicas on one machine can share but replicas on several cannot.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from deploy.replicas import AFFINITY, deployment, environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    parser.add_argument("--replicas", type=int, default=2, help="app servers (default 2)")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port (default 8080)")
    parser.add_argument("--database-url", help="profile store shared by the replicas")
    parser.add_argument("--affinity", choices=sorted(AFFINITY), default="cookie",
                        help="route a visitor by a cookie nginx sets (default) or by address")
    args = parser.parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with deployment(args.replicas, environment(args.database_url), port=args.port,
                    affinity=args.affinity) as running:
        print(f"front (nginx): {running.front_url}")
        for number, url in enumerate(running.replica_urls):
            print(f"replica {number}:   {url}")
        print("Ctrl-C stops them all.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
