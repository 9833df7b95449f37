"""A local stand-in for the Azure Speech service that the real Speech SDK connects to.

Run it with ``python -m speech_emulator --host 127.0.0.1 --port 5000`` and point the SDK at it
with ``SpeechConfig(endpoint="ws://127.0.0.1:5000")`` (or ``host=``). It speaks the SDK's USP
websocket protocol, recognises speech with offline Whisper models (English ``tiny.en``; the
multilingual ``base`` for other languages and language identification), honours the per-recording
options the SDK sends (:mod:`speech_emulator.options`), labels speakers for the conversation
transcriber, checks local managed-identity tokens on request, applies a concurrent-session quota
(HTTP 429, counters on ``GET /stats``), and fails on purpose when a test asks it to (see
:mod:`speech_emulator.faults`). On the same port it serves the REST engines, fast transcription
(:mod:`speech_emulator.fast`) and batch transcription with web hooks (:mod:`speech_emulator.batch`),
through the one-port front (:mod:`speech_emulator.front`). Start it from Python with
:func:`speech_emulator.process.start_emulator`; the manual is ``speech_emulator/README.md``.
"""
