"""Recognition options: one validated model, the same rules through every door, refused before any token.

The rules themselves are pure (``shared.options``); the doors (HTTP query, the upload's JSON ``options``,
blob metadata, the command line, app settings) must each refuse a bad option naming it and its rule,
with the status and record their door promises, and without fetching a Speech token.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import azure.functions as func
import pytest

from shared.api.request_options import query_options
from shared.errors import ConfigurationError, InvalidOptionsError
from shared.jobs.names import JOBS_PREFIX
from shared.options import RecognitionOptions, parse_document, parse_text
from shared.recordings.door import handle_blob
from shared.settings import Settings
from shared.transcribe import build_parser as cli_parser
from shared.transcribe import options_from_flags as cli_options
from tests.app_functions import api, post_transcription
from tests.blob_io import results, upload
from tests.conftest import host_blob_client
from tests.faults import SPEECH_RESOURCE

REPO = Path(__file__).resolve().parent.parent
ELEVEN = "en-US,de-DE,es-ES,fr-FR,it-IT,pt-BR,ja-JP,ko-KR,zh-CN,ru-RU,nl-NL"
ENV = {"SPEECH_ENDPOINT": "ws://127.0.0.1:5000"}

#: (options as text, the option the error must name, a word of the rule it must state)
BAD = [
    ({"languages": ELEVEN}, "languages", "1 to 10"),
    ({"languages": "xx-YY"}, "languages", "not a locale"),
    ({"languages": "en-US,en-GB"}, "languages", "one locale per language"),
    ({"phrases": ",".join(f"p{i}" for i in range(501))}, "phrases", "at most 500"),
    ({"phrases": "x" * 101}, "phrases", "1 to 100 characters"),
    ({"profanity": "bleep"}, "profanity", "masked, removed, raw"),
    ({"phrase_weight": "3"}, "phrase_weight", "from 0 to 2"),
    ({"segmentation_silence_ms": "50"}, "segmentation_silence_ms", "100 to 5000"),
    ({"words": "sometimes"}, "words", "true or false"),
    ({"languages": "en-US,de-DE", "custom_endpoint_id": "abc"}, "custom_endpoint_id", "one per locale"),
    ({"languages": "en-US,de-DE", "custom_endpoint_id": "en-US=a,en-us=b"}, "custom_endpoint_id", "given twice"),
    ({"custom_endpoint_id": "de-DE=abc"}, "custom_endpoint_id", "not one of the languages"),
    ({"engine": "warp"}, "engine", "realtime, fast, batch, auto"),
    ({"max_speakers": "3"}, "max_speakers", "only with engine=fast, batch or auto"),
    ({"engine": "fast", "max_speakers": "36"}, "max_speakers", "from 2 to 35"),
    ({"engine": "auto", "max_speakers": "2", "diarization": "false"}, "max_speakers", "diarization on"),
    ({"engine": "auto", "max_speakers": "2", "phrase_weight": "1"}, "max_speakers", "phrase_weight needs real-time"),
    ({"engine": "fast", "phrase_weight": "1"}, "phrase_weight", "real-time only"),
    ({"engine": "fast", "segmentation_silence_ms": "800"}, "segmentation_silence_ms", "real-time only"),
    ({"engine": "fast", "custom_endpoint_id": "abc"}, "custom_endpoint_id", "real-time only"),
    ({"engine": "batch", "phrases": "Contoso"}, "phrases", "batch transcription has none"),
    ({"engine": "batch", "segmentation_silence_ms": "800"}, "segmentation_silence_ms", "real-time only"),
    ({"langauges": "en-US"}, "langauges", "not an option"),
]


@pytest.mark.parametrize(("given", "option", "rule"), BAD, ids=[b[1] + "-" + b[2].split()[0] for b in BAD])
def test_a_bad_option_names_itself_and_its_rule(given, option, rule):
    with pytest.raises(InvalidOptionsError) as refused:
        parse_text(given, RecognitionOptions())
    assert refused.value.message.startswith(f"{option}:")
    assert rule in refused.value.message
    assert (refused.value.code, refused.value.transient, refused.value.http_status) == ("invalid_options", False, 400)


def test_channel_names_need_separate_channels():
    options = parse_text({"channel_names": "Agent,Customer"}, RecognitionOptions())
    options.check_channels("separate")
    with pytest.raises(InvalidOptionsError, match="channel_names: only with CHANNEL_MODE=separate"):
        options.check_channels("mix")


def test_the_json_form_reads_back_as_the_same_options():
    options = parse_document(
        {
            "languages": ["en-us", "de-DE"],
            "phrases": ["Zorvex"],
            "words": True,
            "custom_endpoint_id": {"de-DE": "model-1"},
            "profanity": "raw",
        },
        RecognitionOptions(),
    )
    assert options.languages == ("en-US", "de-DE")  # the service's spelling
    assert parse_document(json.loads(json.dumps(options.to_dict())), RecognitionOptions()) == options


def test_a_default_custom_model_goes_with_its_language_and_never_blocks_another():
    """The default model is SPEECH_LANGUAGE's: not sent with German audio, no 400 for an option never sent."""
    english = Settings.from_env({**ENV, "SPEECH_CUSTOM_ENDPOINT_ID": "abc"}).recognition
    assert (english.custom_endpoint_id, english.custom_endpoint_ids) == (None, (("en-US", "abc"),))
    assert parse_text({"words": "true"}, english).custom_endpoint_ids == (("en-US", "abc"),)
    assert parse_text({"languages": "de-DE"}, english).custom_endpoint_ids == ()
    assert parse_text({"languages": "de-DE,fr-FR"}, english).custom_endpoint_ids == ()
    assert parse_text({"languages": "de-DE", "custom_endpoint_id": "xyz"}, english).custom_endpoint_id == "xyz"
    both = Settings.from_env(
        {**ENV, "SPEECH_LANGUAGE": "de-DE,en-US", "SPEECH_CUSTOM_ENDPOINT_ID": "de-DE=abc,en-US=def"}
    ).recognition
    assert parse_document({"languages": ["en-us"]}, both).custom_endpoint_ids == (("en-US", "def"),)
    with pytest.raises(InvalidOptionsError, match="'fr-FR' is not one of the languages"):  # the caller's own
        parse_text({"languages": "de-DE", "custom_endpoint_id": "de-DE=abc,fr-FR=xyz"}, english)
    with pytest.raises(ConfigurationError, match="SPEECH_CUSTOM_ENDPOINT_ID: .*one id per locale"):
        Settings.from_env({**ENV, "SPEECH_LANGUAGE": "de-DE,en-US", "SPEECH_CUSTOM_ENDPOINT_ID": "de-DE=a,de-de=b"})


def test_a_door_asking_for_an_engine_drops_the_defaults_only_the_other_engine_honours():
    """Never refused for an option it never sent; settings that contradict each other are refused."""
    auto = Settings.from_env({**ENV, "SPEECH_ENGINE": "auto", "SPEECH_MAX_SPEAKERS": "4"}).recognition
    assert (auto.engine, auto.max_speakers) == ("auto", 4)
    assert parse_text({"engine": "realtime"}, auto).max_speakers is None
    with pytest.raises(InvalidOptionsError, match="max_speakers: only with engine=fast, batch or auto"):
        parse_text({"engine": "realtime", "max_speakers": "4"}, auto)
    tuned = Settings.from_env(
        {
            **ENV,
            "SPEECH_PHRASE_WEIGHT": "1.5",
            "SPEECH_SEGMENTATION_SILENCE_MS": "800",
            "SPEECH_CUSTOM_ENDPOINT_ID": "a",
        }
    ).recognition
    fast = parse_document({"engine": "fast", "max_speakers": 2}, tuned)
    assert (fast.phrase_weight, fast.segmentation_silence_ms, fast.endpoints_by_locale()) == (None, None, ())
    assert parse_text({"engine": "auto"}, tuned).phrase_weight == 1.5  # auto keeps them: it picks real-time
    listed = Settings.from_env({**ENV, "SPEECH_PHRASES": "Contoso"}).recognition
    assert parse_text({"engine": "batch"}, listed).phrases == ()  # batch has no phrase list
    with pytest.raises(ConfigurationError, match="SPEECH_PHRASES: phrases: batch transcription has none"):
        Settings.from_env({**ENV, "SPEECH_ENGINE": "batch", "SPEECH_PHRASES": "Contoso"})
    with pytest.raises(ConfigurationError, match="SPEECH_PHRASE_WEIGHT: phrase_weight: real-time only"):
        Settings.from_env({**ENV, "SPEECH_ENGINE": "fast", "SPEECH_PHRASE_WEIGHT": "1"})
    with pytest.raises(ConfigurationError, match="SPEECH_MAX_SPEAKERS: max_speakers: only with engine=fast"):
        Settings.from_env({**ENV, "SPEECH_MAX_SPEAKERS": "3"})


def test_blob_metadata_is_percent_decoded_and_an_already_decoded_query_is_not():
    """Metadata is ASCII, so it percent-encodes (a comma inside a phrase too); the host decoded the query."""
    metadata = parse_text({"phrases": "Z%C3%BCrich,Contoso%2C Ltd"}, RecognitionOptions(), percent_encoded=True)
    assert metadata.phrases == ("Zürich", "Contoso, Ltd")
    request = func.HttpRequest(
        "POST", "http://localhost/api/transcriptions", body=b"", params={"phrases": "50%25 off,Zorvex"}
    )
    assert query_options(request, Settings.from_env(ENV)).phrases == ("50%25 off", "Zorvex")


def test_the_command_line_keeps_each_phrase_file_line_whole_and_can_turn_words_off(tmp_path):
    phrases = tmp_path / "phrases.txt"
    phrases.write_text("Contoso, Ltd\n\n  50%25 off \nZorvex\n", encoding="utf-8")
    words_on = Settings.from_env({**ENV, "SPEECH_WORDS": "true"})
    options = cli_options(cli_parser().parse_args(["x.wav", "--phrases", f"@{phrases}", "--no-words"]), words_on)
    assert options.phrases == ("Contoso, Ltd", "50%25 off", "Zorvex")
    assert options.words is False
    assert cli_options(cli_parser().parse_args(["x.wav"]), words_on).words is True
    assert cli_options(cli_parser().parse_args(["x.wav", "--words"]), Settings.from_env(ENV)).words is True
    assert cli_options(cli_parser().parse_args(["x.wav", "--no-diarization"]), words_on).diarization is False


def test_app_settings_give_the_defaults_and_a_bad_one_names_the_setting():
    base = ENV
    settings = Settings.from_env(
        {
            **base,
            "SPEECH_LANGUAGE": "en-US,es-ES",
            "SPEECH_WORDS": "true",
            "SPEECH_PHRASES": "Zorvex,Quillana",
            "SPEECH_PROFANITY": "removed",
        }
    )
    assert settings.recognition == RecognitionOptions(
        languages=("en-US", "es-ES"), phrases=("Zorvex", "Quillana"), words=True, profanity="removed"
    )
    for setting, value in (("SPEECH_LANGUAGE", "xx-YY"), ("SPEECH_PHRASE_WEIGHT", "nan"), ("CHANNEL_NAMES", "A,B")):
        with pytest.raises(ConfigurationError, match=setting):
            Settings.from_env({**base, setting: value})


# -- the doors --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("given", "option", "rule"), BAD[:6] + BAD[-1:], ids=[b[1] for b in BAD[:6] + BAD[-1:]])
def test_http_refuses_a_bad_option_with_400_before_any_token(stack, three_sentences_wav, given, option, rule):
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    response = post_transcription(three_sentences_wav.read_bytes(), **given)
    assert response.status_code == 400
    error = json.loads(response.get_body())["error"]
    assert error["code"] == "invalid_options"
    assert error["message"].startswith(f"{option}:")
    assert rule in error["message"]
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) == before


def job_blobs(service) -> set[str]:
    """Every job's blobs: audio in the input container, status documents (and results) in the output one."""
    return {
        f"{container}/{blob.name}"
        for container in ("audio-in", "transcripts")
        for blob in service.get_container_client(container).list_blobs(name_starts_with=JOBS_PREFIX)
    }


def test_an_upload_with_bad_options_is_refused_and_makes_no_job(stack, service):
    before = job_blobs(service)
    body = json.dumps({"filename": "call.wav", "options": {"languages": ["en-US", "xx-YY"]}}).encode()
    response = api("POST", "/api/uploads", body, {"content-type": "application/json"})
    assert response.status_code == 400
    assert json.loads(response.get_body())["error"]["code"] == "invalid_options"
    assert job_blobs(service) == before  # no status document, no audio name reserved


def test_http_refuses_channel_names_with_mixed_channels_before_any_token(stack, monkeypatch, three_sentences_wav):
    monkeypatch.setenv("CHANNEL_MODE", "mix")
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    response = post_transcription(three_sentences_wav.read_bytes(), channel_names="Agent,Customer")
    assert response.status_code == 400
    error = json.loads(response.get_body())["error"]
    assert error["code"] == "invalid_options"
    assert error["message"].startswith("channel_names: only with")
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) == before


def test_channel_names_on_a_dropped_mixed_recording_are_a_permanent_error_before_any_token(
    stack, service, monkeypatch, three_sentences_wav
):
    monkeypatch.setenv("CHANNEL_MODE", "mix")
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    blob = service.get_container_client("audio-in").get_blob_client(name)
    blob.set_blob_metadata({"channel_names": "Agent,Customer"})
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    assert handle_blob(host_blob_client("audio-in", name)).status == "failed"
    record = json.loads(results(service, name)[".error.json"])
    assert (record["code"], record["transient"]) == ("invalid_options", False)
    assert record["message"].startswith("channel_names: only with"), record
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) == before
    assert blob.download_blob().readall() == data


def test_bad_metadata_on_a_dropped_recording_is_a_permanent_error_before_any_token(stack, service, three_sentences_wav):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    blob = service.get_container_client("audio-in").get_blob_client(name)
    blob.set_blob_metadata({"languages": "en-US,klingon", "owner": "team-a"})  # "owner" is the user's own
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    outcome = handle_blob(host_blob_client("audio-in", name))
    assert outcome.status == "failed"  # returned: the host does not retry it
    record = json.loads(results(service, name)[".error.json"])
    assert (record["code"], record["transient"]) == ("invalid_options", False)
    assert "languages:" in record["message"]
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) == before
    assert blob.download_blob().readall() == data


def test_the_command_line_refuses_a_bad_option_with_exit_2(stack, three_sentences_wav):
    run = subprocess.run(
        [sys.executable, "-m", "shared.transcribe", str(three_sentences_wav), "--languages", ELEVEN],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip().splitlines()[-1].startswith("error: invalid_options: languages: 1 to 10")
