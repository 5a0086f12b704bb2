"""Downloading ml-latest-small once into the cache folder, checked before it is unpacked."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import requests

from recommender.data.dataset import DataError
from recommender.settings import settings


def download_movielens(
    cache_dir: str | os.PathLike,
    *,
    url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    timeout: float = 10.0,
) -> Path:
    """Download and unpack ml-latest-small into ``cache_dir`` once; return the folder.

    ``url`` defaults to ``settings().movielens_url`` (``$MOVIELENS_URL``). The archive is
    checked (zip CRCs, expected files, and the published MD5 when the server offers one) and
    unpacked into a temporary folder that is renamed into place, so a broken download never
    leaves a half-written dataset behind.
    """
    url = url or settings().movielens_url
    cache = Path(cache_dir)
    name = Path(url.rsplit("/", 1)[-1]).stem
    target = cache / name
    if (target / "ratings.csv").exists() and (target / "movies.csv").exists():
        return target
    report = progress or _print_progress
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with requests.get(url, stream=True, timeout=(3.05, timeout)) as response:
            response.raise_for_status()
            total = int(response.headers.get("Content-Length") or 0)
            data = io.BytesIO()
            for chunk in response.iter_content(chunk_size=1 << 16):
                data.write(chunk)
                report(data.tell(), total)
        expected_md5 = _published_md5(url, timeout)
        payload = data.getvalue()
        if expected_md5 and hashlib.md5(payload).hexdigest() != expected_md5:
            raise DataError(
                f"Download from {url} is corrupt: MD5 does not match the published one"
            )
        _unpack(payload, url, target)
    except requests.RequestException as error:
        raise DataError(
            f"Could not download MovieLens from {url} ({type(error).__name__}). Without a "
            "network, download ml-latest-small elsewhere and set MOVIELENS_DIR=/path/to/"
            "ml-latest-small (the folder holding movies.csv and ratings.csv)."
        ) from None
    except OSError as error:  # the cache folder is not writable, or the disk is full
        raise DataError(
            f"Could not save MovieLens in {cache} ({error.strerror or error}); set "
            "RECOMMENDER_CACHE to a writable folder, or MOVIELENS_DIR to an unpacked copy."
        ) from None
    return target


def _published_md5(url: str, timeout: float) -> str | None:
    try:
        response = requests.get(url + ".md5", timeout=(3.05, timeout))
    except requests.RequestException:
        return None
    if response.status_code != 200:
        return None
    match = re.search(r"\b[0-9a-f]{32}\b", response.text.lower())
    return match.group(0) if match else None


def _unpack(payload: bytes, url: str, target: Path) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
        broken = archive.testzip()
    except zipfile.BadZipFile:
        raise DataError(f"Download from {url} is not a valid zip archive") from None
    if broken:
        raise DataError(f"Download from {url} is corrupt: {broken} fails its CRC check")
    names = archive.namelist()
    if any(n.startswith("/") or ".." in Path(n).parts for n in names):
        raise DataError(f"Download from {url} holds unsafe paths; refusing to unpack")
    if not any(n.endswith("ratings.csv") for n in names):
        raise DataError(f"Download from {url} holds no ratings.csv")
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        archive.extractall(staging)
        inner = next(p.parent for p in staging.rglob("ratings.csv"))
        if target.exists():
            shutil.rmtree(target)
        os.replace(inner, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _print_progress(done: int, total: int) -> None:
    if total:
        sys.stderr.write(f"\rDownloading MovieLens: {done / total:6.1%} of {total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\rDownloading MovieLens: {done / 1e6:.1f} MB")
    if total and done >= total:
        sys.stderr.write("\n")
