"""Reading a saved model folder back into the family that wrote it."""

from __future__ import annotations

import os
from typing import Any

from recommender.models.base import FAMILIES, Recommender
from recommender.models.storage import ModelFileError, SavedModel, check_arrays, read_model
from recommender.models.vocabulary import Vocabulary


def load_model(path: str | os.PathLike, mmap: bool = True) -> Recommender:
    """Load a model saved with ``model.save(path)``; arrays are memory-mapped by default.

    Raises :class:`ModelFileError` for anything wrong with the folder, including arrays whose
    dtype or shape does not fit the vocabulary (see ``array_specs``).
    """
    saved = read_model(path, mmap=mmap)
    if saved.manifest.get("vocabulary") == "parent":
        raise ModelFileError(f"{path}: a part of a composite model; load its parent folder")
    return _from_saved(saved, None)


def _from_saved(saved: SavedModel, vocabulary: Vocabulary | None) -> Recommender:
    manifest, folder = saved.manifest, saved.folder
    algorithm = manifest.get("algorithm")
    cls = FAMILIES.get(algorithm) if isinstance(algorithm, str) else None
    if cls is None:
        raise ModelFileError(f"{folder}: unknown algorithm {algorithm!r:.80}")
    try:
        model = cls(**_decode_params(manifest.get("hyperparameters", {}))).check_hyperparameters()
    except (TypeError, ValueError, KeyError) as error:
        raise ModelFileError(
            f"{folder}: hyperparameters do not fit {cls.__name__} (saved by another version?): "
            f"{error}"
        ) from None
    missing = [name for name in cls.learned_arrays if name not in saved.arrays]
    if missing:
        raise ModelFileError(f"{folder}: array {missing[0]} is missing from model.json")
    missing = [name for name in cls.learned_parts if name.rstrip("_") not in saved.parts]
    if missing:
        raise ModelFileError(f"{folder}: part {missing[0].rstrip('_')} is missing")
    if vocabulary is None:
        missing = [name for name in Vocabulary.ARRAYS if name not in saved.arrays]
        if missing:
            raise ModelFileError(f"{folder}: array {missing[0]} is missing from model.json")
        vocabulary = Vocabulary.from_arrays(
            saved.arrays, manifest.get("genres", []), manifest.get("fingerprint"), folder
        )
    sizes = {"movies": len(vocabulary.movie_ids), "users": len(vocabulary.user_ids)}
    check_arrays(saved.arrays, cls.array_specs, sizes, folder)
    state: dict[str, Any] = {name: saved.arrays[name] for name in cls.learned_arrays}
    for name in cls.learned_parts:
        state[name] = _from_saved(saved.parts[name.rstrip("_")], vocabulary)
    return model._restore(vocabulary, state)


def _decode_params(params: Any) -> dict[str, Any]:
    """The inverse of :meth:`Recommender.hyperparameters` (ValueError for what is not)."""
    if not isinstance(params, dict):
        raise ValueError(f"hyperparameters should be a JSON object, got {params!r:.80}")
    decoded = {}
    for name, value in params.items():
        if isinstance(value, dict) and set(value) == {"algorithm", "hyperparameters"}:
            value = FAMILIES[value["algorithm"]](**_decode_params(value["hyperparameters"]))
        decoded[name] = value
    return decoded
