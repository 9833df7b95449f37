"""Recordings in the input container: the blob door (one recording in, its results beside it), the names
of those results and the tries they record, the claim that keeps one worker per recording, and the sweep
that finishes what no event did (``catch_up`` runs it, as ``python -m shared.backfill`` does)."""
