"""The saved-model folder: ``model.json`` plus one ``.npy`` per array, no pickle.

Every array is listed in ``model.json`` with its SHA-256, so a truncated or altered file is
detected on load; ``.npy`` files are read with ``allow_pickle=False``. A folder is written next
to its final place and renamed, so a crash never leaves half a model. A composite model (the
hybrid) keeps one child folder per part (``ease/``, ``als/``), each with its own ``model.json``;
parts share the parent's vocabulary arrays instead of repeating them.

Format 1 (a flat folder) is unchanged since the first release; format 2 adds ``parts``, so
code that predates parts refuses such a folder instead of misreading it.

Anything wrong with a folder (a missing or mistyped manifest field, a symlink, an array of the
wrong dtype or shape, an unreadable file) is a :class:`ModelFileError` naming the file, so a
caller such as ``load_or_train`` can always retrain over a damaged model.
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


@dataclass(frozen=True)
class ArraySpec:
    """What a saved array must look like, declared by whoever saves it.

    ``kind``: "f" (floating point) or "i" (integer). ``shape``: ints or dimension names; a
    name (``"movies"``, ``"users"``, ``"factors"``) must have the same size wherever it occurs,
    and the first array that uses it fixes it. ``rows_of``: the values are row numbers of that
    dimension (0 <= value < its size).
    """

    kind: str
    shape: tuple[int | str, ...]
    rows_of: str | None = None


def check_arrays(
    arrays: dict[str, np.ndarray],
    specs: dict[str, ArraySpec],
    sizes: dict[str, int],
    folder: Path | None,
) -> dict[str, int]:
    """Check ``arrays`` against ``specs`` (in order); ``sizes`` gains each name first seen.

    Raises :class:`ModelFileError` naming the first array that is missing, of the wrong
    dtype or shape, or holds a row number out of range. Returns ``sizes``.
    """
    for name, spec in specs.items():
        where = f"{folder}: array {name}"
        if name not in arrays:
            raise ModelFileError(f"{where} is missing from model.json")
        value = arrays[name]
        kinds = "iu" if spec.kind == "i" else spec.kind
        if value.dtype.kind not in kinds:
            raise ModelFileError(f"{where} has dtype {value.dtype}, expected kind {spec.kind!r}")
        if value.ndim != len(spec.shape):
            raise ModelFileError(
                f"{where} has shape {value.shape}, expected {len(spec.shape)} dimension(s)"
            )
        for axis, (dim, size) in enumerate(zip(spec.shape, value.shape, strict=True)):
            expected = sizes.setdefault(dim, size) if isinstance(dim, str) else dim
            if size != expected:
                raise ModelFileError(
                    f"{where} has shape {value.shape}: axis {axis} ({dim}) should be {expected}"
                )
        if spec.rows_of is not None and value.size:
            low, high = int(value.min()), int(value.max())
            if low < 0 or high >= sizes[spec.rows_of]:
                raise ModelFileError(
                    f"{where} holds row numbers {low}..{high}, outside 0..{sizes[spec.rows_of] - 1}"
                )
    return sizes


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
    try:
        _write(staging, saved)
        if folder.exists() or folder.is_symlink():
            _remove_model_folder(folder)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # ours alone; the old model is untouched
        raise
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
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ModelFileError(f"{folder} {what}; not a saved model")
    manifest_file = _inside(folder, "model.json")
    try:
        manifest = json.loads(manifest_file.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{folder}: no model.json; not a saved model") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ModelFileError(f"{manifest_file}: not valid JSON ({error})") from None
    except OSError as error:
        raise ModelFileError(f"{manifest_file}: cannot be read ({error})") from None
    if not isinstance(manifest, dict):
        raise ModelFileError(f"{manifest_file}: not a JSON object")
    version = manifest.get("format_version")
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise ModelFileError(f"{manifest_file}: unsupported format version {version!r}")
    entries = _field(manifest.pop("arrays", None) or {}, dict, manifest_file, "arrays")
    arrays = {name: _read_array(folder, name, entry, mmap) for name, entry in entries.items()}
    parts = {}
    for name in _field(manifest.pop("parts", None) or [], list, manifest_file, "parts"):
        if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
            raise ModelFileError(f"{manifest_file}: bad part name {name!r}")
        parts[name] = read_model(_inside(folder, name), mmap=mmap)
    return SavedModel(manifest, arrays, parts, folder)


def _field(value: Any, kind: type, manifest_file: Path, name: str) -> Any:
    if not isinstance(value, kind):
        raise ModelFileError(
            f"{manifest_file}: {name} should be a JSON {'object' if kind is dict else 'list'}, "
            f"got {type(value).__name__}"
        )
    return value


def _inside(folder: Path, name: str) -> Path:
    """``folder / name``, refusing a symlink: a model's files are its own, never links to
    files elsewhere (which the checksums would then vouch for)."""
    path = folder / name
    if path.is_symlink():
        raise ModelFileError(f"{path}: a symlink; a saved model holds only its own files")
    return path


def _read_array(folder: Path, name: str, entry: Any, mmap: bool) -> np.ndarray:
    if not (
        isinstance(entry, dict)
        and isinstance(entry.get("file"), str)
        and isinstance(entry.get("sha256"), str)
    ):
        raise ModelFileError(f"{folder / 'model.json'}: array {name!r} needs a file and a sha256")
    file = _inside(folder, Path(entry["file"]).name)
    if not file.is_file():
        raise ModelFileError(f"{file}: missing")
    try:
        if _sha256(file) != entry["sha256"]:
            raise ModelFileError(f"{file}: checksum mismatch (file truncated or altered)")
        array = np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"{file}: not a plain numpy array ({error})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise ModelFileError(f"{file}: holds {getattr(array, 'dtype', type(array))}, not numbers")
    return array


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_model_folder(folder: Path) -> None:
    # Only remove what write_model() writes, so a mistaken path never wipes unrelated files.
    if folder.is_symlink():
        raise ModelFileError(f"{folder} is a symlink; refusing to overwrite what it points to")
    if not (folder / "model.json").exists():
        raise ModelFileError(f"{folder} exists and is not a saved model; refusing to overwrite")
    try:
        for entry in folder.iterdir():
            if entry.is_symlink():  # never followed: only the link is ours to remove
                if entry.name == "model.json" or entry.suffix == ".npy" or entry.is_dir():
                    entry.unlink()
            elif entry.is_dir() and (entry / "model.json").exists():
                _remove_model_folder(entry)
            elif entry.is_dir() and entry.name == "model.json":
                entry.rmdir()  # a damaged manifest; only when empty
            elif entry.name == "model.json" or entry.suffix == ".npy":
                entry.unlink()
        folder.rmdir()
    except OSError as error:
        raise ModelFileError(f"{folder}: cannot replace the saved model there ({error})") from None
