"""The saved-model folder: ``model.json`` plus one ``.npy`` per array, no pickle.

Every array is listed in ``model.json`` with its SHA-256, so a truncated or altered file is
detected on load; ``.npy`` files are read with ``allow_pickle=False``. A folder is written next
to its final place and renamed, so a crash never leaves half a model. A composite model (the
hybrid) keeps one child folder per part (``ease/``, ``als/``), each with its own ``model.json``;
parts share the parent's vocabulary arrays instead of repeating them.

Format 1 (a flat folder) is unchanged since the first release; format 2 adds ``parts``, so
code that predates parts refuses such a folder instead of misreading it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
PARTS_FORMAT_VERSION = 2
SUPPORTED_VERSIONS = (FORMAT_VERSION, PARTS_FORMAT_VERSION)


class ModelFileError(ValueError):
    """A saved model is missing, truncated, altered or of an unknown format."""


@dataclass
class SavedModel:
    """What one folder holds: the manifest's fields, the arrays, and the parts' folders."""

    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray]
    parts: dict[str, SavedModel] = field(default_factory=dict)
    folder: Path | None = None  # where it was read from, for error messages


def write_model(path: str | os.PathLike, saved: SavedModel) -> Path:
    """Write ``saved`` to the folder ``path`` atomically, replacing a model saved there."""
    folder = Path(path)
    staging = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    if staging.exists():  # left by a crashed save of this process id; ours to remove
        shutil.rmtree(staging)
    _write(staging, saved)
    if folder.exists():
        _remove_model_folder(folder)
    os.replace(staging, folder)
    return folder


def _write(folder: Path, saved: SavedModel) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, value in saved.arrays.items():
        file = f"{name.rstrip('_')}.npy"
        np.save(folder / file, np.ascontiguousarray(value), allow_pickle=False)
        arrays[name] = {"file": file, "sha256": _sha256(folder / file)}
    for name, part in saved.parts.items():
        _write(folder / name, part)
    version = PARTS_FORMAT_VERSION if saved.parts else FORMAT_VERSION
    manifest = {"format_version": version, **saved.manifest, "arrays": arrays}
    if saved.parts:
        manifest["parts"] = sorted(saved.parts)
    (folder / "model.json").write_text(json.dumps(manifest, indent=2))


def read_model(path: str | os.PathLike, mmap: bool = True) -> SavedModel:
    """Read and verify a folder written by :func:`write_model` (parts included)."""
    folder = Path(path)
    try:
        manifest = json.loads((folder / "model.json").read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{folder}: no model.json; not a saved model") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{folder / 'model.json'}: not valid JSON ({error})") from None
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version not in SUPPORTED_VERSIONS:
        raise ModelFileError(f"{folder / 'model.json'}: unsupported format version {version!r}")
    arrays = {}
    for name, entry in (manifest.pop("arrays", None) or {}).items():
        file = folder / Path(entry["file"]).name
        if not file.exists():
            raise ModelFileError(f"{file}: missing")
        if _sha256(file) != entry["sha256"]:
            raise ModelFileError(f"{file}: checksum mismatch (file truncated or altered)")
        try:
            arrays[name] = np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
        except ValueError as error:
            raise ModelFileError(f"{file}: not a plain numpy array ({error})") from None
    parts = {}
    for name in manifest.pop("parts", None) or []:
        if Path(name).name != name or name.startswith("."):
            raise ModelFileError(f"{folder / 'model.json'}: bad part name {name!r}")
        parts[name] = read_model(folder / name, mmap=mmap)
    return SavedModel(manifest, arrays, parts, folder)


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_model_folder(folder: Path) -> None:
    # Only remove what write_model() writes, so a mistaken path never wipes unrelated files.
    if not (folder / "model.json").exists():
        raise ModelFileError(f"{folder} exists and is not a saved model; refusing to overwrite")
    for entry in folder.iterdir():
        if entry.is_dir() and (entry / "model.json").exists():
            _remove_model_folder(entry)
        elif entry.name == "model.json" or entry.suffix == ".npy":
            entry.unlink()
    folder.rmdir()
