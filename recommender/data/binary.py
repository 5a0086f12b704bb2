"""The binary copy of a large ratings file: memory-mapped ``.npy`` columns, the per-movie
totals and the fingerprint, so a restart opens 32M ratings without parsing the CSV.

The copy is written only after the CSV passed every check, and trusted only while it still is
what was written: a manifest holds the SHA-256 of every file (and a digest of itself), and
opening the copy verifies them all. Anything else (a flipped rating, swapped columns, a
truncated file, an old layout) makes :func:`read_copy` return None, and the loader parses the
CSV and writes the copy again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.data.dataset import RATING_COLUMNS, RatingTotals

log = logging.getLogger(__name__)

# Binary copies of large ratings files make the second load fast; small files parse fast anyway.
BINARY_CACHE_MIN_BYTES = 20_000_000
_FORMAT = 2  # 1: no manifest, totals indexed by movieId
_TOTALS = ("movie_ids", "movie_counts", "movie_sums")
_FILES = (*RATING_COLUMNS, *_TOTALS)


def copy_folder(file: Path, cache: Path) -> Path | None:
    """Where the binary copy of ``file`` goes, or None when the file is too small for one.

    The name follows the file's path, size and modification time, so an edited file never
    meets the copy of its old content.
    """
    stat = file.stat()
    if stat.st_size < BINARY_CACHE_MIN_BYTES:
        return None
    key = hashlib.sha1(f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return cache / f"ratings-{key.hexdigest()[:16]}"


def write_copy(
    ratings: pd.DataFrame, totals: RatingTotals, fingerprint: str, folder: Path
) -> None:
    """Write the copy beside ``folder`` and rename it into place.

    A cache folder that cannot be written only costs the next start its speed-up, so the
    failure is logged, not raised.
    """
    staging = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    arrays = {c: ratings[c].to_numpy() for c in RATING_COLUMNS}
    arrays.update(movie_ids=totals.ids, movie_counts=totals.counts, movie_sums=totals.sums)
    try:
        staging.mkdir(parents=True, exist_ok=True)
        for name, array in arrays.items():
            np.save(staging / f"{name}.npy", array, allow_pickle=False)
        manifest = {
            "format": _FORMAT,
            "fingerprint": fingerprint,
            "sha256": _checksums(staging),
        }
        manifest["digest"] = _digest(manifest)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        log.warning("Could not save a binary copy of the ratings in %s (%s)", folder, error)


def read_copy(folder: Path) -> tuple[pd.DataFrame, RatingTotals, str] | None:
    """The verified copy, memory-mapped (read-only, no pickle); None if missing or damaged.

    Verifying reads every file once (hashed in parallel threads; the cost is measured by
    ``benchmarks/bench_binary_copy.py``), which is still a small part of parsing the CSV.
    """
    if not folder.is_dir():
        return None
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        problem = _problem(folder, manifest)
        if problem is None:
            # Plain ndarray views of the maps, so callers never meet the memmap subclass.
            arrays = {
                name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                .view(np.ndarray)
                for name in _FILES
            }
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        problem = f"{type(error).__name__}: {error}"
    if problem is not None:
        log.warning("Ignoring damaged binary copy %s (%s); rebuilding it", folder, problem)
        return None
    ratings = pd.DataFrame({c: arrays[c] for c in RATING_COLUMNS}, copy=False)
    totals = RatingTotals(*(arrays[name] for name in _TOTALS))
    return ratings, totals, manifest["fingerprint"]


def _problem(folder: Path, manifest: dict) -> str | None:
    """What is wrong with the copy, or None when every file is what the manifest says."""
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        return "not the current format"
    if manifest.pop("digest", None) != _digest(manifest):
        return "its manifest is damaged"
    found = _checksums(folder)
    damaged = [name for name in _FILES if found[name] != manifest["sha256"].get(name)]
    return f"{', '.join(damaged)} changed since written" if damaged else None


def _checksums(folder: Path) -> dict[str, str]:
    def checksum(name: str) -> tuple[str, str]:
        with open(folder / f"{name}.npy", "rb") as handle:
            return name, hashlib.file_digest(handle, "sha256").hexdigest()

    # hashlib and file reads release the GIL, so the columns are hashed side by side.
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(checksum, _FILES))


def _digest(manifest: dict) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
