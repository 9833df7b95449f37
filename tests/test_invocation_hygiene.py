"""What this project exists for: per invocation, one fresh token, and nothing of the SDK left alive.

Instances of the Speech SDK classes and of the credential are tracked with weak references (a spy on
their constructors: the real classes still do all the work). After each invocation returns, every
tracked object must already be gone: released by the code's own disposal, not by the test.
"""

from __future__ import annotations

import json
import time
import weakref

import pytest

from local_stack.processes import free_port
from shared.platform.credentials import SPEECH_SCOPE
from shared.speech.session import STOP_TIMEOUT_SECONDS
from tests import speech_audio
from tests.app_functions import post_transcription as post

SPEECH = SPEECH_SCOPE.removesuffix("/.default")  # the resource the identity endpoint counts


@pytest.fixture
def tracked(monkeypatch):
    import azure.cognitiveservices.speech as speechsdk
    from azure.identity import ManagedIdentityCredential

    alive: weakref.WeakSet = weakref.WeakSet()
    created: list[str] = []
    # PhraseListGrammar.from_recognizer is a classmethod that calls cls(recognizer), and the language
    # configs are constructed directly: a spy on __init__ sees every one of them.
    for cls in (
        speechsdk.SpeechConfig,
        speechsdk.audio.AudioConfig,
        speechsdk.audio.PullAudioInputStream,
        speechsdk.audio.AudioStreamFormat,
        speechsdk.transcription.ConversationTranscriber,
        speechsdk.Connection,
        speechsdk.PhraseListGrammar,
        speechsdk.languageconfig.AutoDetectSourceLanguageConfig,
        speechsdk.languageconfig.SourceLanguageConfig,
        ManagedIdentityCredential,
    ):
        original = cls.__init__

        def spy(self, *args, _original=original, **kwargs):
            _original(self, *args, **kwargs)
            alive.add(self)
            created.append(type(self).__name__)

        monkeypatch.setattr(cls, "__init__", spy)
    return alive, created


def test_one_token_per_invocation_and_no_sdk_object_or_credential_survives(stack, tracked, three_sentences_wav):
    alive, created = tracked
    audio = three_sentences_wav.read_bytes()
    for invocation in range(3):
        before = stack.token_requests().get(SPEECH, 0)
        created.clear()
        response = post(audio)
        assert response.status_code == 200, response.get_body()
        assert stack.token_requests().get(SPEECH, 0) - before == 1, f"invocation {invocation}"
        assert {"SpeechConfig", "ConversationTranscriber", "Connection", "ManagedIdentityCredential"} <= set(created)
        assert list(alive) == [], f"still alive after invocation {invocation}: {[type(o).__name__ for o in alive]}"


def test_a_stalled_service_ends_in_a_typed_timeout_and_still_releases_everything(
    stack, tracked, monkeypatch, three_sentences_wav
):
    alive, _ = tracked
    monkeypatch.setenv("SPEECH_ENDPOINT", f"{stack.speech_endpoint}/stt/speech/universal/v2?fault=stall")
    monkeypatch.setenv("SPEECH_IDLE_TIMEOUT_SECONDS", "2")
    started = time.monotonic()
    response = post(three_sentences_wav.read_bytes())
    elapsed = time.monotonic() - started
    assert response.status_code == 502
    assert json.loads(response.get_body())["error"]["code"] == "speech_timeout"
    assert elapsed < 2 + STOP_TIMEOUT_SECONDS + 5  # idle timeout + bounded stop + set-up
    # The SDK's own stop of a stalled session takes ~20 s; its objects go as soon as it lets go.
    assert wait_until_released(alive, 40) == []


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("reject-401", 502, "authentication_failed"),
        ("reject-429", 503, "throttled"),
        ("reject-503", 502, "service_error"),
        ("close-1011", 502, "service_error"),
        ("bad-request", 502, "bad_request"),
    ],
)
def test_service_refusals_become_typed_errors_and_release_everything(
    stack, tracked, monkeypatch, three_sentences_wav, fault, status, code
):
    alive, created = tracked
    monkeypatch.setenv("SPEECH_ENDPOINT", f"{stack.speech_endpoint}/stt/speech/universal/v2?fault={fault}")
    monkeypatch.setenv("SPEECH_START_RETRY_SECONDS", "1")  # refused starts are retried: every session released
    response = post(three_sentences_wav.read_bytes())
    assert response.status_code == status
    assert json.loads(response.get_body())["error"]["code"] == code
    assert "ConversationTranscriber" in created
    assert list(alive) == []


def test_an_unreachable_identity_endpoint_fails_fast_with_a_typed_error(stack, monkeypatch, three_sentences_wav):
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{free_port()}/msi/token")
    monkeypatch.setenv("TOKEN_TIMEOUT_SECONDS", "2")
    started = time.monotonic()
    response = post(three_sentences_wav.read_bytes())
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert json.loads(response.get_body())["error"]["code"] == "identity_unavailable"


def test_a_token_the_speech_service_refuses_is_an_authentication_error(stack, monkeypatch, three_sentences_wav):
    """The emulator runs with --require-token; a token signed with another secret is refused at upgrade."""
    import threading
    from http.server import ThreadingHTTPServer

    from local_stack.identity import IdentityServer

    rogue = IdentityServer(("127.0.0.1", 0), secret="not-the-emulators-secret-" + "x" * 16, header="h")
    threading.Thread(target=rogue.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{rogue.server_address[1]}/msi/token")
        monkeypatch.setenv("IDENTITY_HEADER", "h")
        response = post(three_sentences_wav.read_bytes())
    finally:
        ThreadingHTTPServer.shutdown(rogue)
    assert response.status_code == 502
    error = json.loads(response.get_body())["error"]
    assert error["code"] == "authentication_failed"
    assert error["sdk_error_code"] == "AuthenticationFailure"


def test_a_session_with_no_recognised_speech_is_a_transcript_with_a_warning(stack, monkeypatch, three_sentences_wav):
    monkeypatch.setenv("SPEECH_ENDPOINT", f"{stack.speech_endpoint}/stt/speech/universal/v2?fault=nomatch")
    response = post(three_sentences_wav.read_bytes())
    assert response.status_code == 200
    doc = json.loads(response.get_body())
    assert doc["segments"] == []
    assert doc["warnings"] == ["no speech was recognised"]


#: Every option, as a request's query gives it; those that make SDK objects of their own: a phrase list (a
#: PhraseListGrammar), several languages (an AutoDetectSourceLanguageConfig) with a per-locale custom model
#: (a SourceLanguageConfig each); words too.
EVERY_OPTION = {
    "languages": "en-US,de-DE,es-ES",
    "phrases": "Zorvex,Quillana",
    "phrase_weight": "1.5",
    "custom_endpoint_id": "de-DE=0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5",
    "words": "true",
    "profanity": "raw",
    "segmentation_silence_ms": "800",
    "diarization": "false",
}
EVERY_SDK_CLASS = {
    "SpeechConfig",
    "AudioConfig",
    "PullAudioInputStream",
    "ConversationTranscriber",
    "Connection",
    "PhraseListGrammar",
    "AutoDetectSourceLanguageConfig",
    "SourceLanguageConfig",
}


def recognise_with_every_option(path) -> list:
    """One sentence through ``shared.speech.recognise`` with ``EVERY_OPTION``, a fresh token and decoder."""
    from shared.options import parse_text
    from shared.settings import Settings
    from tests.test_speech_options import recognise_file

    return recognise_file(path, parse_text(EVERY_OPTION, Settings.from_env().recognition))


def wait_until_released(alive: weakref.WeakSet, seconds: float = 10.0) -> list[str]:
    """What is still alive once the session's helper thread has had ``seconds`` to release it."""
    deadline = time.monotonic() + seconds
    while list(alive) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [type(o).__name__ for o in alive]


def test_an_invocation_with_every_option_fetches_one_token_and_releases_every_sdk_object(stack, tracked, tmp_path):
    """Through the HTTP door, as a user asks for them: the options reach the session and nothing outlives it."""
    alive, created = tracked
    sentence = speech_audio.speak("Please ask Zorvex to call me.", tmp_path / "sentence.wav").read_bytes()
    before = stack.token_requests().get(SPEECH, 0)
    response = post(sentence, **EVERY_OPTION)

    assert response.status_code == 200, response.get_body()
    assert stack.token_requests().get(SPEECH, 0) - before == 1
    segments = json.loads(response.get_body())["segments"]
    assert segments, segments
    assert segments[0]["language"] == "en-US", segments
    assert segments[0]["words"], segments
    assert {s["speaker"] for s in segments} == {"Speaker-1"}
    assert set(created) >= EVERY_SDK_CLASS | {"ManagedIdentityCredential"}, created
    assert created.count("SourceLanguageConfig") == 3  # one per candidate, with or without a custom model
    # The session is stopped and released on its helper thread, which the invocation joins (bounded):
    assert [type(o).__name__ for o in alive] == []


def test_a_session_that_fails_while_opening_releases_what_it_made(stack, tracked, tmp_path, monkeypatch):
    """The phrase list's weight is refused after the transcriber, grammar and language configs exist."""
    import azure.cognitiveservices.speech as speechsdk

    alive, created = tracked

    def refuse(self, weight):
        raise RuntimeError("weight refused")

    monkeypatch.setattr(speechsdk.PhraseListGrammar, "setWeight", refuse)
    sentence = speech_audio.speak("Hello.", tmp_path / "hello.wav")
    with pytest.raises(RuntimeError, match="weight refused") as raised:
        recognise_with_every_option(sentence)

    assert set(created) >= EVERY_SDK_CLASS - {"Connection"}, created
    # Callers keep errors (a channel's thread hands it over, a retry loop logs it): ``raised`` still holds
    # this one, and its traceback must not keep what the failed calls had in their frames.
    assert wait_until_released(alive) == [], raised.value
