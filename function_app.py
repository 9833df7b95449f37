"""Azure Functions entry points: triggers and bindings only; the work happens in ``shared/``.

- ``transcribe_blob``: audio dropped into the input container (Event Grid-sourced blob trigger,
  SDK-type ``BlobClient`` binding so the audio is streamed, not copied into the worker) is
  transcribed into ``<output container>/<name>.json`` and ``.txt``.
- ``POST /api/transcriptions``: the request body is the audio; the transcript is the response.
- ``GET /api/health``: configuration state, without secrets.

Only what indexing needs is imported here (the worker needs the ``blob.BlobClient`` class itself);
the pipeline, its decoder and the Speech SDK load on first use (``docs/performance.md``).
"""

import gc

import azure.functions as func
import azurefunctions.extensions.bindings.blob as blob

from shared.settings import STORAGE_CONNECTION

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.blob_trigger(
    arg_name="client",
    path="%INPUT_CONTAINER%/{name}",
    connection=STORAGE_CONNECTION,
    source=func.BlobSource.EVENT_GRID,
)
def transcribe_blob(client: blob.BlobClient) -> None:
    from shared import pipeline

    pipeline.handle_blob(client)


@app.route(route="transcriptions", methods=["POST"])
def transcribe_http(req: func.HttpRequest) -> func.HttpResponse:
    from shared import http_api

    return http_api.transcribe(req)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    from shared import http_api

    return http_api.health(req)


# What is loaded by now lives as long as the worker: keep it out of later collections, so the gc.collect()
# ending each invocation walks only what invocations made (~4 ms, not ~30-40 ms; docs/performance.md).
gc.freeze()
