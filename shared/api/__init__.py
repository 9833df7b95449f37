"""The HTTP door: every route of ``openapi.yaml``, called by ``function_app.py``.

- ``responses``: the one JSON body and the one error response every route answers with, and the
  decorator that loads the settings once per request and maps any ``TranscriptionError`` to its
  status code (``shared.errors`` decides the code; no route makes one up);
- ``transcriptions``: ``POST /api/transcriptions`` (short audio answered in the request, longer
  audio handed to a job);
- ``jobs``: uploads, status, transcripts, deletion, listing;
- ``negotiation``: which output format a request asks for (``?format=``, ``Accept``);
- ``service``: health and the contract itself.
"""
