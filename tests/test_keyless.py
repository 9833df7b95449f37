"""Keyless like production: the app reaches storage and Speech only with its identity's tokens.

The local Azurite serves HTTPS with OAuth and the app settings are the identity-based ones; Azurite
does not check RBAC and would still take its development key, so these tests check our side: the
clients the app builds carry a token credential and no key, refused tokens surface as typed errors,
each invocation asks the identity endpoint once per resource, and no key is written in the code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.errors import StorageAccessDeniedError
from shared.platform import storage
from shared.platform.credentials import SPEECH_SCOPE
from shared.settings import STORAGE_CONNECTION, Settings
from tests.app_functions import invoke_blob, post_transcription
from tests.blob_io import upload
from tests.conftest import host_blob_client

REPO = Path(__file__).resolve().parent.parent
SPEECH = SPEECH_SCOPE.removesuffix("/.default")
STORAGE = "https://storage.azure.com"


def test_the_stack_gives_the_app_identity_settings_and_no_connection_string(stack):
    assert STORAGE_CONNECTION not in stack.env
    assert "AzureWebJobsStorage" not in stack.env
    assert stack.env[f"{STORAGE_CONNECTION}__credential"] == "managedidentity"
    for key in ("blobServiceUri", "queueServiceUri"):
        assert stack.env[f"{STORAGE_CONNECTION}__{key}"].startswith("https://127.0.0.1:")
    settings = Settings.from_env()
    assert settings.storage.connection_string is None
    assert settings.describe()["storage"]["identity_based"] is True


def test_the_apps_storage_client_carries_a_managed_identity_credential_and_no_key(stack):
    from azure.identity import ManagedIdentityCredential
    from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy

    from shared.platform.credentials import BoundedCredential

    with storage.blob_service(Settings.from_env()) as client:
        # a managed-identity credential, behind the wrapper that bounds and classifies its token fetches
        assert isinstance(client.credential, BoundedCredential)
        assert isinstance(client.credential.inner, ManagedIdentityCredential)
        assert client.url.startswith("https://")
        policies = [type(p).__name__ for p in client._pipeline._impl_policies]
        assert "StorageBearerTokenCredentialPolicy" in policies, policies
        assert not any(isinstance(p, SharedKeyCredentialPolicy) for p in client._pipeline._impl_policies)
        assert "sig=" not in client.url
    # The blob extension builds the binding's client from the same settings: identity there too.
    bound = host_blob_client("audio-in", "any.wav")
    assert isinstance(bound.credential, ManagedIdentityCredential)


def test_azurite_refuses_a_request_without_a_token(stack):
    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import BlobServiceClient

    anonymous = BlobServiceClient(stack.storage.blob, connection_verify=str(stack.certificate.ca_bundle))
    with anonymous, pytest.raises(HttpResponseError) as refused:
        list(anonymous.get_container_client("audio-in").list_blobs())
    assert refused.value.status_code in (401, 403)


@pytest.mark.parametrize("mode", ["expired", "wrong-audience"])
def test_a_token_azurite_refuses_surfaces_as_a_typed_error_and_the_audio_stays(
    stack, service, mode, three_sentences_wav
):
    name = upload(service, three_sentences_wav.read_bytes(), folder="keyless")
    stack.spoil_tokens(STORAGE, mode)
    with pytest.raises(StorageAccessDeniedError) as refused:
        invoke_blob("audio-in", name)
    assert "403" in refused.value.message
    assert refused.value.transient
    assert service.get_container_client("audio-in").get_blob_client(name).exists()
    # The next invocation gets a good token from a fresh credential and succeeds.
    invoke_blob("audio-in", name)
    assert service.get_container_client("transcripts").get_blob_client(f"{name}.json").exists()


def token_failure(stack, mode: str):
    """The error a fresh credential's Speech token fetch ends with while the endpoint answers ``mode``."""
    from shared.platform.credentials import new_credential
    from tests.faults import identity_healed, timed

    with identity_healed(stack, SPEECH), new_credential(Settings.from_env()) as credential:
        stack.spoil_tokens(SPEECH, mode, count=5)
        return timed(lambda: credential.get_token(SPEECH_SCOPE)).error


@pytest.mark.parametrize("mode", ["status-404", "status-410"])
def test_an_identity_endpoint_answering_404_or_410_is_unavailable_not_a_refusal(stack, mode):
    """IMDS answers 404 and 410 while it is being updated; azure-identity retries them, and so do we."""
    error = token_failure(stack, mode)
    assert (error.code, error.transient) == ("identity_unavailable", True), error
    assert mode.removeprefix("status-") in error.message


def test_a_connection_blip_then_a_refusal_is_a_refusal(stack, monkeypatch):
    """The fetch is classified by its last attempt: a refused connection, retried, then 403, is a 403."""
    import requests

    send, attempts = requests.adapters.HTTPAdapter.send, []

    def blip_once(self, request, *args, **kwargs):
        attempts.append(request.url)
        if len(attempts) == 1:
            raise requests.exceptions.ConnectionError("injected: connection refused")
        return send(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", blip_once)
    error = token_failure(stack, "status-403")
    assert len(attempts) == 2, attempts  # the blip was retried, and the retry was refused
    assert (error.code, error.transient) == ("authentication_failed", False), error


def test_each_invocation_asks_for_one_token_per_resource(stack, service, three_sentences_wav):
    audio = three_sentences_wav.read_bytes()
    for _ in range(2):
        name = upload(service, audio, folder="keyless")
        before = stack.token_requests()
        invoke_blob("audio-in", name)
        after = stack.token_requests()
        assert after.get(SPEECH, 0) - before.get(SPEECH, 0) == 1
        assert after.get(STORAGE, 0) - before.get(STORAGE, 0) == 1
    before = stack.token_requests()
    assert post_transcription(audio).status_code == 200
    after = stack.token_requests()
    assert (after.get(SPEECH, 0) - before.get(SPEECH, 0), after.get(STORAGE, 0) - before.get(STORAGE, 0)) == (1, 0)


#: What a storage key or a keyed connection looks like in code, settings or Bicep.
KEY_PATTERNS = {
    "AccountKey=": re.compile(r"AccountKey\s*=", re.IGNORECASE),
    "DefaultEndpointsProtocol=": re.compile(r"DefaultEndpointsProtocol\s*=", re.IGNORECASE),
    "UseDevelopmentStorage": re.compile(r"UseDevelopmentStorage", re.IGNORECASE),
    "SharedAccessSignature=": re.compile(r"SharedAccessSignature\s*=", re.IGNORECASE),
    "a base64 account key": re.compile(r"[A-Za-z0-9+/]{86}=="),
    "listKeys()": re.compile(r"listKeys\s*\("),
    "account_key": re.compile(r"account_key", re.IGNORECASE),
}


def app_files() -> list[Path]:
    files = [REPO / "function_app.py", REPO / "local.settings.example.json"]
    for folder in ("shared", "infra"):
        files += [p for p in (REPO / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return files


def test_no_key_or_connection_string_is_written_in_the_app_or_its_infra():
    found = [
        f"{path.relative_to(REPO)}: {label}"
        for path in app_files()
        for label, pattern in KEY_PATTERNS.items()
        if pattern.search(path.read_text(errors="replace"))
    ]
    assert found == []
    assert len(app_files()) > 15  # the walk really covered shared/ and infra/


def test_the_key_check_catches_a_planted_key(tmp_path):
    planted = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + "A" * 86 + "==;"
    assert {label for label, p in KEY_PATTERNS.items() if p.search(planted)} >= {
        "AccountKey=",
        "DefaultEndpointsProtocol=",
        "a base64 account key",
    }
