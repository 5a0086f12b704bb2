"""What verifying the binary ratings copy costs a warm start, at ml-32m size.

    python -m benchmarks.bench_binary_copy [--ratings 32000000] [--repeat 5] [--out DIR]

Synthetic MovieLens-shaped ratings (recommender.evaluation.synthetic, fixed seed) are written as
a binary copy once; then, with the files in the page cache (as on a restart), the copy is opened
the trusted way (every file's SHA-256 checked against the manifest, then memory-mapped) and, for
comparison, only memory-mapped. The per-movie totals (computed once, when the CSV is parsed) are
timed too. Prints a table and JSON (medians of ``--repeat`` runs in one process); writes
``binary-copy.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from recommender.data import RatingTotals, binary, ratings_fingerprint

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def median_seconds(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=32_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    from recommender.evaluation.synthetic import synthetic_movielens

    ratings = synthetic_movielens(args.ratings, seed=0).ratings
    with tempfile.TemporaryDirectory() as cache:
        folder = Path(cache) / "ratings-bench"
        totals_s = median_seconds(lambda: RatingTotals.of(ratings), args.repeat)
        totals, fingerprint = RatingTotals.of(ratings), ratings_fingerprint(ratings)
        started = time.perf_counter()
        binary.write_copy(ratings, totals, fingerprint, folder)
        write_s = time.perf_counter() - started
        size = sum(f.stat().st_size for f in folder.iterdir())

        def verified():
            assert binary.read_copy(folder) is not None

        def mapped_only():
            for file in folder.glob("*.npy"):
                np.load(file, mmap_mode="r", allow_pickle=False)

        verified()  # the page cache now holds the files, as on a restart
        verified_s = median_seconds(verified, args.repeat)
        mapped_s = median_seconds(mapped_only, args.repeat)
    result = {
        "ratings": len(ratings),
        "copy_mb": round(size / 1e6, 1),
        "open_verified_s": round(verified_s, 3),
        "open_mapped_only_s": round(mapped_s, 4),
        "verify_gb_per_s": round(size / 1e9 / max(verified_s - mapped_s, 1e-9), 2),
        "write_copy_s": round(write_s, 2),
        "rating_totals_s": round(totals_s, 2),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "binary-copy.json").write_text(json.dumps(result))
    for name, value in result.items():
        print(f"{name:24}{value:>14}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
