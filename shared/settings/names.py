"""Every app setting's name, in one place; ``APP_SETTING_NAMES`` lets ``tests/test_infra.py`` check that the
Bicep template sets what the code reads.
"""

from __future__ import annotations

from shared.options import OPTION_SETTINGS

#: The connection prefix shared by the blob trigger binding and ``shared.platform.storage``: in Azure the app
#: settings ``AudioStorage__blobServiceUri`` / ``__queueServiceUri`` / ``__credential`` / ``__clientId``.
STORAGE_CONNECTION = "AudioStorage"
#: The Functions host's own storage connection (its leases, the blob trigger's queues): read by the host,
#: never by this package, and set the same identity-based way.
HOST_STORAGE_CONNECTION = "AzureWebJobsStorage"

SPEECH_ENDPOINT = "SPEECH_ENDPOINT"
INPUT_CONTAINER = "INPUT_CONTAINER"
OUTPUT_CONTAINER = "OUTPUT_CONTAINER"
AZURE_CLIENT_ID = "AZURE_CLIENT_ID"
TOKEN_CREDENTIAL = "TOKEN_CREDENTIAL"
TOKEN_TIMEOUT_SECONDS = "TOKEN_TIMEOUT_SECONDS"
STORAGE_TIMEOUT_SECONDS = "STORAGE_TIMEOUT_SECONDS"
SPEECH_IDLE_TIMEOUT_SECONDS = "SPEECH_IDLE_TIMEOUT_SECONDS"
TRANSCRIPTION_DEADLINE_SECONDS = "TRANSCRIPTION_DEADLINE_SECONDS"
SPEECH_SEND_FAST = "SPEECH_SEND_FAST"
HTTP_MAX_BYTES = "HTTP_MAX_BYTES"
CHANNEL_MODE = "CHANNEL_MODE"
MAX_AUDIO_MINUTES = "MAX_AUDIO_MINUTES"
MAX_AUDIO_BYTES = "MAX_AUDIO_BYTES"
SYNC_MAX_BYTES = "SYNC_MAX_BYTES"
SYNC_MAX_SECONDS = "SYNC_MAX_SECONDS"
OUTPUT_FORMATS = "OUTPUT_FORMATS"
COMPLETION_QUEUE = "COMPLETION_QUEUE"
JOB_PROGRESS_SECONDS = "JOB_PROGRESS_SECONDS"
SPEECH_START_RETRY_SECONDS = "SPEECH_START_RETRY_SECONDS"
SWEEP_SCHEDULE = "SWEEP_SCHEDULE"
SWEEP_CONCURRENCY = "SWEEP_CONCURRENCY"
MAX_ATTEMPTS = "MAX_ATTEMPTS"
JOB_QUEUED_TTL_MINUTES = "JOB_QUEUED_TTL_MINUTES"
#: The batch web hook's HMAC key, generated at deployment: a key to that one route, to no resource.
SPEECH_WEBHOOK_SECRET = "SPEECH_WEBHOOK_SECRET"
#: The settings of an identity-based connection are ``<connection>__<key>``, with these keys.
_BLOB_URI_KEY, _QUEUE_URI_KEY = "blobServiceUri", "queueServiceUri"
_CREDENTIAL_KEY, _CLIENT_ID_KEY = "credential", "clientId"
BLOB_SERVICE_URI = f"{STORAGE_CONNECTION}__{_BLOB_URI_KEY}"
QUEUE_SERVICE_URI = f"{STORAGE_CONNECTION}__{_QUEUE_URI_KEY}"
STORAGE_CREDENTIAL = f"{STORAGE_CONNECTION}__{_CREDENTIAL_KEY}"
STORAGE_CLIENT_ID = f"{STORAGE_CONNECTION}__{_CLIENT_ID_KEY}"

#: Settings without a safe default: the app cannot run without them.
REQUIRED_SETTINGS = frozenset({SPEECH_ENDPOINT})

#: Every setting this package reads (required or optional).
APP_SETTING_NAMES = frozenset(
    {
        SPEECH_ENDPOINT,
        INPUT_CONTAINER,
        OUTPUT_CONTAINER,
        AZURE_CLIENT_ID,
        TOKEN_CREDENTIAL,
        TOKEN_TIMEOUT_SECONDS,
        STORAGE_TIMEOUT_SECONDS,
        SPEECH_IDLE_TIMEOUT_SECONDS,
        TRANSCRIPTION_DEADLINE_SECONDS,
        SPEECH_SEND_FAST,
        HTTP_MAX_BYTES,
        CHANNEL_MODE,
        MAX_AUDIO_MINUTES,
        MAX_AUDIO_BYTES,
        SYNC_MAX_BYTES,
        SYNC_MAX_SECONDS,
        OUTPUT_FORMATS,
        COMPLETION_QUEUE,
        JOB_PROGRESS_SECONDS,
        SPEECH_START_RETRY_SECONDS,
        SWEEP_SCHEDULE,
        SWEEP_CONCURRENCY,
        MAX_ATTEMPTS,
        JOB_QUEUED_TTL_MINUTES,
        SPEECH_WEBHOOK_SECRET,
        *OPTION_SETTINGS.values(),
        STORAGE_CONNECTION,
        BLOB_SERVICE_URI,
        QUEUE_SERVICE_URI,
        STORAGE_CREDENTIAL,
        STORAGE_CLIENT_ID,
    }
)


def identity_connection(connection: str, *, blob_service_uri: str, queue_service_uri: str) -> dict[str, str]:
    """The app settings of an identity-based storage connection named ``connection``, as ``infra/`` sets them."""
    return {
        f"{connection}__{_BLOB_URI_KEY}": blob_service_uri,
        f"{connection}__{_QUEUE_URI_KEY}": queue_service_uri,
        f"{connection}__{_CREDENTIAL_KEY}": "managedidentity",
    }
