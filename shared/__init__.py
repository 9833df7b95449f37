"""The transcription package behind ``function_app.py``.

One module per concern: ``settings`` (app settings, read once per invocation), ``token`` (a Speech
token fetched per invocation), ``audio`` (WAV validation and streaming), ``speech_session`` (the
Speech SDK session with guaranteed disposal), ``transcript`` (the result model and its formats),
``storage`` (blob I/O), ``pipeline`` (the handlers the functions call) and ``errors``.
Heavy modules (the Speech SDK, azure-identity, azure-storage-blob) are imported inside the
invocation path, so importing this package is cheap for the Functions host.
"""
