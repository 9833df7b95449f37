"""Settings validation: pure code, no services. (Audio decoding: ``test_audio.py``.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.settings import APP_SETTING_NAMES, REQUIRED_SETTINGS, Settings

BASE = {"SPEECH_ENDPOINT": "ws://127.0.0.1:5000"}
REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_documented_values():
    s = Settings.from_env(BASE)
    assert (s.speech_language, s.input_container, s.output_container) == ("en-US", "audio-in", "transcripts")
    assert s.token_credential == "managedidentity"
    assert s.storage is None
    assert (s.channel_mode, s.max_audio_minutes, s.max_audio_bytes) == ("mix", 240, 4 * 1024**3)


def test_channel_mode_and_limits_are_read():
    s = Settings.from_env(
        {**BASE, "CHANNEL_MODE": " Separate ", "MAX_AUDIO_MINUTES": "90", "MAX_AUDIO_BYTES": "1000000"}
    )
    assert (s.channel_mode, s.max_audio_minutes, s.max_audio_bytes) == ("separate", 90, 1_000_000)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "SPEECH_ENDPOINT"),
        ({"SPEECH_ENDPOINT": "ftp://x"}, "SPEECH_ENDPOINT"),
        ({**BASE, "INPUT_CONTAINER": "Bad_Name"}, "INPUT_CONTAINER"),
        ({**BASE, "TOKEN_TIMEOUT_SECONDS": "soon"}, "TOKEN_TIMEOUT_SECONDS"),
        ({**BASE, "HTTP_MAX_BYTES": "-1"}, "HTTP_MAX_BYTES"),
        ({**BASE, "SPEECH_SEND_FAST": "maybe"}, "SPEECH_SEND_FAST"),
        ({**BASE, "TOKEN_CREDENTIAL": "clientsecret"}, "TOKEN_CREDENTIAL"),
        ({**BASE, "SPEECH_LANGUAGE": "english please"}, "SPEECH_LANGUAGE"),
        ({**BASE, "CHANNEL_MODE": "stereo"}, "CHANNEL_MODE"),
        ({**BASE, "MAX_AUDIO_MINUTES": "0"}, "MAX_AUDIO_MINUTES"),
        ({**BASE, "MAX_AUDIO_BYTES": "lots"}, "MAX_AUDIO_BYTES"),
        (
            {**BASE, "AudioStorage__blobServiceUri": "https://a", "AudioStorage__credential": "key"},
            "AudioStorage__credential",
        ),
        # not finite, or out of range: each would otherwise switch a bound off or fail deep in a handler
        ({**BASE, "HTTP_MAX_BYTES": "nan"}, "HTTP_MAX_BYTES"),
        ({**BASE, "HTTP_MAX_BYTES": "inf"}, "HTTP_MAX_BYTES"),
        ({**BASE, "HTTP_MAX_BYTES": "1e300"}, "HTTP_MAX_BYTES"),
        ({**BASE, "HTTP_MAX_BYTES": "1000.5"}, "HTTP_MAX_BYTES"),
        ({**BASE, "TOKEN_TIMEOUT_SECONDS": "nan"}, "TOKEN_TIMEOUT_SECONDS"),
        ({**BASE, "TOKEN_TIMEOUT_SECONDS": "inf"}, "TOKEN_TIMEOUT_SECONDS"),
        ({**BASE, "STORAGE_TIMEOUT_SECONDS": "-inf"}, "STORAGE_TIMEOUT_SECONDS"),
        ({**BASE, "SPEECH_IDLE_TIMEOUT_SECONDS": "nan"}, "SPEECH_IDLE_TIMEOUT_SECONDS"),
        ({**BASE, "TRANSCRIPTION_DEADLINE_SECONDS": "inf"}, "TRANSCRIPTION_DEADLINE_SECONDS"),
        ({**BASE, "MAX_AUDIO_MINUTES": "nan"}, "MAX_AUDIO_MINUTES"),
        ({**BASE, "MAX_AUDIO_BYTES": "inf"}, "MAX_AUDIO_BYTES"),
        ({**BASE, "SYNC_MAX_SECONDS": "300"}, "SYNC_MAX_SECONDS"),  # past the platform's 230 s
        ({**BASE, "JOB_PROGRESS_SECONDS": "NaN"}, "JOB_PROGRESS_SECONDS"),
    ],
)
def test_bad_settings_name_the_setting(env, named):
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_env(env)


def test_identity_based_storage_wins_over_a_connection_string():
    s = Settings.from_env(
        {
            **BASE,
            "AudioStorage": "UseDevelopmentStorage=true",
            "AudioStorage__blobServiceUri": "https://acct.blob.core.windows.net",
            "AudioStorage__clientId": "abc",
        }
    )
    assert s.storage.blob_service_uri == "https://acct.blob.core.windows.net"
    assert s.storage.connection_string is None
    assert s.storage.client_id == "abc"
    assert "AccountKey" not in str(s.describe())


def test_setting_name_lists_are_consistent():
    assert REQUIRED_SETTINGS <= APP_SETTING_NAMES
    assert {"AudioStorage__blobServiceUri", "AudioStorage__queueServiceUri"} <= APP_SETTING_NAMES


def test_the_format_names_settings_accept_are_the_registrys():
    from shared.output import FORMAT_NAMES
    from shared.output.formats import FORMATS

    assert tuple(FORMATS) == FORMAT_NAMES
    assert Settings.from_env({**BASE, "OUTPUT_FORMATS": "srt, vtt"}).output_formats == ("json", "srt", "vtt")
    with pytest.raises(ConfigurationError, match="json, txt, srt, vtt"):
        Settings.from_env({**BASE, "OUTPUT_FORMATS": "docx"})


def test_reading_the_settings_imports_no_renderer():
    code = (
        "import json, sys; from shared.settings import Settings; "
        f"Settings.from_env({BASE!r}); print(json.dumps(sorted(sys.modules)))"
    )
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    )
    assert [name for name in loaded if name.startswith("shared.output.")] == []
