"""The HTTP door: every route of ``openapi.yaml``, called by ``function_app.py``. Each answers in one JSON shape,
any ``TranscriptionError`` with the status ``shared.errors`` gives its class (``responses.route``), so the same
fault answers the same way on every route.
"""
