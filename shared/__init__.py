"""The transcription package behind ``function_app.py``: one module, or one small package, per concern.

The doors, and what they share:

- ``blob_door``: one recording in the input container → its results beside it (idempotent per ETag, one
  worker at a time via ``claims``, failures recorded in ``results``, retried by the host or the ``sweep``);
- ``api/``: the HTTP door (``POST /api/transcriptions``, the jobs routes, health, the contract);
- ``sweep``: the timer run that finishes what no event did (``pending`` says what is left, ``catch_up``
  runs it through the blob door, as ``python -m shared.backfill`` does);
- ``cli/``: ``python -m shared.transcribe``, ``shared.backfill``, ``shared.status``.

The one transcription path, and its parts:

- ``pipeline``: decode, token, session(s), ``Transcript``; a refused session start retried (``retry_policy``);
- ``audio/``: any recording decoded into 16 kHz PCM as the Speech SDK asks for it;
- ``speech/``: one Speech SDK session with every SDK object disposed; ``options`` applied;
- ``credentials``: a credential per invocation, a token per invocation, none kept; ``deadlines``: every
  network wait bounded by a wall-clock deadline;
- ``transcript``, ``subtitles``, ``word_cues``, ``formats``: the result model and the formats it is written in.

Around them: ``jobs/`` (status documents for long audio), ``storage`` and ``blob_reader`` (per-invocation
clients, ranged reads pinned to an ETag), ``settings/`` (app settings, read once per invocation),
``options`` and ``locales`` (per-recording recognition options), ``errors`` (the taxonomy: permanent or
transient, and the HTTP status), ``invocation_log`` (one structured line per invocation), ``allocator``
(large freed buffers go back to the OS).

Heavy modules (the Speech SDK, PyAV, azure-identity, azure-storage-blob) are imported inside the
invocation path, so importing this package is cheap for the Functions host.
"""
