#!/usr/bin/env bash
# Subscribes the blob extension's webhook to BlobCreated events of the input container, and
# registers the app's batch web hook (POST /api/speech-callbacks) on the Speech resource.
#
# Neither can live in Bicep: the Event Grid webhook URL carries the app's `blobs_extension`
# system key, which the Functions host creates only once the code is deployed and running; and
# the Speech service challenges the batch web hook's URL, which the deployed code answers. Safe to
# re-run: `event-subscription create` is a PUT, and a web hook already registered for the same URL
# is deleted before the new one (with the app's current SPEECH_WEBHOOK_SECRET) is registered.
#
# Runs as azd's postdeploy hook (azd exports the Bicep outputs as environment variables)
# or by hand:
#   scripts/post-deploy.sh [--app NAME] [--resource-group RG] [--topic NAME] [--container NAME] [--speech-endpoint URL]
# Arguments win over the environment; whatever is still missing is read from
# `azd env get-values` when azd is installed.
set -euo pipefail

# The variables this script needs; each is a Bicep output of infra/main.bicep.
REQUIRED_VARS="AZURE_FUNCTION_APP_NAME RESOURCE_GROUP EVENT_GRID_SYSTEM_TOPIC_NAME INPUT_CONTAINER SPEECH_ENDPOINT"
# The Python function name of the Event Grid blob trigger (function_app.py).
FUNCTION_NAME="${FUNCTION_NAME:-transcribe_blob}"
EVENT_SUBSCRIPTION_NAME="${EVENT_SUBSCRIPTION_NAME:-audio-blob-created}"
# The key appears when the host first starts after the deployment: poll, do not fail at once.
KEY_ATTEMPTS="${KEY_ATTEMPTS:-30}"
KEY_WAIT_SECONDS="${KEY_WAIT_SECONDS:-10}"
# The batch web hook: the route function_app.py serves, the Speech REST API it is registered with.
CALLBACK_ROUTE="/api/speech-callbacks"
WEBHOOKS_API_VERSION="2025-10-15"
SPEECH_AUDIENCE="https://cognitiveservices.azure.com"

log() { printf 'post-deploy: %s\n' "$*" >&2; }

usage() {
  sed -n 's/^#   //p' "$0"
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --app) AZURE_FUNCTION_APP_NAME="${2:?--app needs a value}"; shift 2 ;;
    --resource-group) RESOURCE_GROUP="${2:?--resource-group needs a value}"; shift 2 ;;
    --topic) EVENT_GRID_SYSTEM_TOPIC_NAME="${2:?--topic needs a value}"; shift 2 ;;
    --container) INPUT_CONTAINER="${2:?--container needs a value}"; shift 2 ;;
    --speech-endpoint) SPEECH_ENDPOINT="${2:?--speech-endpoint needs a value}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) log "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
done

missing_vars() {
  local name missing=""
  for name in $REQUIRED_VARS; do
    if [ -z "${!name:-}" ]; then missing="$missing $name"; fi
  done
  printf '%s' "${missing# }"
}

# Fill only what is still unset from the azd environment (lines of NAME="value").
load_from_azd() {
  local line name value
  while IFS= read -r line; do
    name="${line%%=*}"
    value="${line#*=}"
    value="${value#\"}"
    value="${value%\"}"
    case " $REQUIRED_VARS " in
      *" $name "*)
        if [ -z "${!name:-}" ]; then printf -v "$name" '%s' "$value"; fi
        ;;
    esac
  done < <(azd env get-values)
}

if [ -n "$(missing_vars)" ] && command -v azd > /dev/null 2>&1; then
  load_from_azd
fi
missing="$(missing_vars)"
if [ -n "$missing" ]; then
  log "missing: $missing (pass them as arguments, export them, or run inside an azd environment)"
  exit 2
fi

if ! command -v az > /dev/null 2>&1; then
  log "the Azure CLI (az) is required"
  exit 127
fi

key=""
attempt=1
while :; do
  key="$(az functionapp keys list --name "$AZURE_FUNCTION_APP_NAME" --resource-group "$RESOURCE_GROUP" \
    --query "systemKeys.blobs_extension" --output tsv 2> /dev/null || true)"
  if [ -n "$key" ]; then break; fi
  if [ "$attempt" -ge "$KEY_ATTEMPTS" ]; then
    log "no blobs_extension key on $AZURE_FUNCTION_APP_NAME after $attempt attempts;" \
      "is the code deployed and does it have an Event Grid blob trigger?"
    exit 1
  fi
  log "waiting for the host to create the blobs_extension key ($attempt/$KEY_ATTEMPTS)"
  attempt=$((attempt + 1))
  sleep "$KEY_WAIT_SECONDS"
done

# The app's real hostname (it can differ from <app>.azurewebsites.net on newer apps).
host="$(az functionapp show --name "$AZURE_FUNCTION_APP_NAME" --resource-group "$RESOURCE_GROUP" \
  --query defaultHostName --output tsv)"
host="${host:-$AZURE_FUNCTION_APP_NAME.azurewebsites.net}"

webhook="https://$host/runtime/webhooks/blobs?functionName=Host.Functions.$FUNCTION_NAME"
# Trailing slash: "audio-in/" must not also match a container named "audio-in-old".
subject_prefix="/blobServices/default/containers/$INPUT_CONTAINER/"

log "subscribing $webhook (key omitted) to BlobCreated under $subject_prefix"
az eventgrid system-topic event-subscription create \
  --name "$EVENT_SUBSCRIPTION_NAME" \
  --resource-group "$RESOURCE_GROUP" \
  --system-topic-name "$EVENT_GRID_SYSTEM_TOPIC_NAME" \
  --endpoint-type webhook \
  --endpoint "$webhook&code=$key" \
  --included-event-types Microsoft.Storage.BlobCreated \
  --subject-begins-with "$subject_prefix" \
  --output none
log "event subscription $EVENT_SUBSCRIPTION_NAME is in place"

# The batch web hook, registered by the deploying principal with the secret the app checks against
# (read from the app's settings: what was deployed, not what a local environment says).
secret="$(az functionapp config appsettings list --name "$AZURE_FUNCTION_APP_NAME" \
  --resource-group "$RESOURCE_GROUP" --query "[?name=='SPEECH_WEBHOOK_SECRET'].value | [0]" --output tsv)"
if [ -z "$secret" ]; then
  log "$AZURE_FUNCTION_APP_NAME has no SPEECH_WEBHOOK_SECRET; provision again (scripts/pre-provision.sh makes one)"
  exit 1
fi
webhooks="${SPEECH_ENDPOINT%/}/speechtotext/webhooks?api-version=$WEBHOOKS_API_VERSION"
callback="https://$host$CALLBACK_ROUTE"
for old in $(az rest --method get --url "$webhooks" --resource "$SPEECH_AUDIENCE" \
  --query "values[?webUrl=='$callback'].self" --output tsv); do
  log "deleting the web hook registered before for $callback"
  az rest --method delete --url "$old" --resource "$SPEECH_AUDIENCE" --output none
done
body="$(mktemp)"
trap 'rm -f "$body"' EXIT
chmod 600 "$body"
printf '{"displayName": "stt-pipeline batch completions", "webUrl": "%s", "events": {"transcriptionCompletion": true}, "properties": {"secret": "%s"}}' \
  "$callback" "$secret" > "$body"
log "registering the batch web hook $callback (secret omitted)"
az rest --method post --url "$webhooks" --resource "$SPEECH_AUDIENCE" --body "@$body" --output none
log "batch web hook in place"
