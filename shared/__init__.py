"""The transcription package behind ``function_app.py``; the README's table maps it.

Words used throughout:

- **door**: a way in for a recording: the blob door (``recordings/door.py``), the HTTP door (``api/``).
- **job**: a recording posted for later, followed through its status document (``jobs/``).
- **claim**: a lease on ``<name>.lock``: one worker per recording at a time.
- **tries**: a recording's failed attempts, counted in its ``.error.json``; the host's deliveries and
  the sweep's retries each add one.
- **sweep**: the timer's run that finishes what no event did.
"""
