"""Azure Functions entry points: triggers and bindings only; the work happens in ``shared/``.

- ``transcribe_blob``: audio dropped into the input container (Event Grid-sourced blob trigger,
  SDK-type ``BlobClient`` binding so the audio is streamed, not copied into the worker) is
  transcribed into ``<output container>/<name>.json`` and the other ``OUTPUT_FORMATS`` beside it.
- ``POST /api/transcriptions``: the request body is the audio; short audio gets its transcript as the
  response, longer audio becomes a job (202) that the blob trigger runs.
- ``POST /api/uploads``: an upload URL straight into storage for a new job's audio, of any size.
- ``GET|DELETE /api/transcriptions/{id}``, ``GET .../{id}/transcript``, ``GET /api/transcriptions``: jobs.
- ``GET /api/health``, ``GET /api/openapi.yaml``: configuration state (no secrets), the API contract.
- ``POST /api/speech-callbacks``: the Speech service's batch web hook (anonymous; HMAC-signed calls only).
- ``sweep``: a timer (``SWEEP_SCHEDULE``) that transcribes what no event did: lost events, recordings
  the host gave up on, and expires jobs whose audio never came.

Only what indexing needs is imported here (the worker needs the ``blob.BlobClient`` class itself);
the handlers in ``shared/``, the decoder and the Speech SDK load on first use (``docs/performance.md``).
"""

import gc

# The blob extension's imports create objects that live as long as the worker, and the cyclic collector
# would walk them again and again while they load: off for the import, on again below (the gain and its
# price: docs/performance.md, section 4).
_collecting = gc.isenabled()
gc.disable()

import azure.functions as func  # noqa: E402
import azurefunctions.extensions.bindings.blob as blob  # noqa: E402

from shared.settings import STORAGE_CONNECTION  # noqa: E402

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.blob_trigger(
    arg_name="client",
    path="%INPUT_CONTAINER%/{name}",
    connection=STORAGE_CONNECTION,
    source=func.BlobSource.EVENT_GRID,
)
def transcribe_blob(client: blob.BlobClient, context: func.Context) -> None:
    # The runtime injects ``context`` only when its annotation is the class itself (a union fails indexing).
    from shared.recordings.door import handle_blob

    handle_blob(client, invocation_id=context.invocation_id)


@app.timer_trigger(arg_name="timer", schedule="%SWEEP_SCHEDULE%", run_on_startup=False, use_monitor=True)
def sweep(timer: func.TimerRequest) -> None:
    from shared.recordings.sweep import run_sweep

    run_sweep()


@app.route(route="transcriptions", methods=["POST"])
def create_transcription(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api import transcriptions

    return transcriptions.create_transcription(req)


@app.route(route="transcriptions", methods=["GET"])
def list_transcriptions(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api import jobs

    return jobs.list_transcriptions(req)


@app.route(route="transcriptions/{id}", methods=["GET"])
def get_transcription(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api import jobs

    return jobs.get_transcription(req)


@app.route(route="transcriptions/{id}", methods=["DELETE"])
def delete_transcription(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api import jobs

    return jobs.delete_transcription(req)


@app.route(route="transcriptions/{id}/transcript", methods=["GET"])
def get_transcript(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api import jobs

    return jobs.get_transcript(req)


@app.route(route="uploads", methods=["POST"])
def create_upload(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api import jobs

    return jobs.create_upload(req)


@app.route(route="openapi.yaml", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api import service

    return service.openapi(req)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api import service

    return service.health(req)


@app.route(route="speech-callbacks", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def speech_callback(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api import callbacks

    return callbacks.speech_callback(req)


# What is loaded by now lives as long as the worker: kept out of later collections, the gc.collect() ending
# each invocation walks only what invocations made (docs/performance.md, section 2).
gc.freeze()
if _collecting:
    gc.enable()
