"""Run the benchmark suite: ``python -m benchmarks [core search posters app load ...]``.

With no names it runs the quick set (core on ml-latest-small and 1M ratings, search, posters,
app). Each benchmark prints a human table and JSON; results land in ``benchmarks/out/``.
``python -m benchmarks core --sizes small,1m,10m,32m`` runs the full scale curve (about an hour
on 2 cores); ``python -m benchmarks.<name> --help`` lists each one's options.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "core": "benchmarks.bench_core",
    "search": "benchmarks.bench_search",
    "posters": "benchmarks.bench_posters",
    "app": "benchmarks.bench_app",
    "load": "benchmarks.bench_load",
    "gpu": "benchmarks.bench_gpu",
    "rating-accuracy": "benchmarks.rating_accuracy",
}
QUICK = ["core", "search", "posters", "app"]


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    split = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    names, options = argv[:split] or QUICK, argv[split:]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
        return 2
    status = 0
    for name in names:
        print(f"\n== {name} ==", flush=True)
        module = importlib.import_module(BENCHMARKS[name])
        result = module.main(options if len(names) == 1 else [])
        status |= result if isinstance(result, int) else 0
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
