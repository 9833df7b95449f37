"""Which recordings are refused for their names: those whose results could be taken for another's.

A name is refused when it ends in what one result suffix adds to another (``x.wav.error``'s transcript
would be ``x.wav.error.json``, the error record of ``x.wav``), when a result would be a job's status
document (``jobs/<id>/status``) or a batch transcription's index entry (``batch-waiting/<id>``), or when
its results' names would pass storage's limit. So a result's name stays a pure function of its recording's,
and nothing reads a document to tell results apart.
"""

from __future__ import annotations

from functools import cache

from shared.errors import NameRefusedError

MAX_NAME_CHARS = 1024  # storage's longest blob name


@cache
def result_suffixes() -> tuple[str, ...]:
    """Every suffix a recording's name gets in the output container."""
    from shared.recordings.claims import LOCK_SUFFIX
    from shared.recordings.results import result_names

    return (*(name.removeprefix("x") for name in result_names("x").values()), LOCK_SUFFIX)


@cache
def colliding_endings() -> frozenset[str]:
    """What one result suffix adds to another it ends with (``.error``: ``.error.json`` over ``.json``)."""
    suffixes = result_suffixes()
    return frozenset(
        longer.removesuffix(shorter)
        for longer in suffixes
        for shorter in suffixes
        if longer != shorter and longer.endswith(shorter)
    )


def refusal(name: str) -> str | None:
    """Why the recording ``name`` is refused, a sentence that ends in what to do; ``None`` when it is not."""
    from shared.batch.records import id_from_index_name
    from shared.jobs.names import job_id_from_status_name

    for ending in sorted(colliding_endings()):
        if name.endswith(ending):
            return (
                f"its name ends in {ending!r}, so its results would share names with those of "
                f"{name.removesuffix(ending)[-80:]!r}; rename it"
            )
    if any(job_id_from_status_name(name + suffix) for suffix in result_suffixes()):
        return "its results would be named as a job's status document (jobs/<id>/status.json); rename it"
    if any(id_from_index_name(name + suffix) for suffix in result_suffixes()):
        return "its results would be named as a batch transcription's entry (batch-waiting/<id>.json); rename it"
    if len(name) + max(map(len, result_suffixes())) > MAX_NAME_CHARS:
        return (
            f"its name is {len(name)} characters, too long for its results' names (storage takes "
            f"{MAX_NAME_CHARS}); rename it"
        )
    return None


def refused_error(name: str) -> NameRefusedError | None:
    """The permanent error a refused recording is recorded with; ``None`` when ``name`` is not refused."""
    why = refusal(name)
    return None if why is None else NameRefusedError(f"not transcribed: {why}")


def record_fits(name: str) -> bool:
    """Whether the error record of recording ``name`` has a name storage takes."""
    from shared.recordings.results import ERROR_SUFFIX

    return len(name) + len(ERROR_SUFFIX) <= MAX_NAME_CHARS
