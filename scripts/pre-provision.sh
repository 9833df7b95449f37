#!/usr/bin/env bash
# Generates the batch web hook's HMAC key, SPEECH_WEBHOOK_SECRET, once per azd environment.
#
# infra/main.parameters.json passes it to Bicep, which sets it as the app setting; post-deploy.sh
# registers the web hook with it. Kept from one deployment to the next, so the registered web hook and
# the app always agree; `azd env set SPEECH_WEBHOOK_SECRET ""` and a new `azd up` rotate it. It is a
# key to the web hook route only, to no resource. It is never printed.
#
# Runs as azd's preprovision hook.
set -euo pipefail

NAME="SPEECH_WEBHOOK_SECRET"

log() { printf 'pre-provision: %s\n' "$*" >&2; }

if ! command -v azd > /dev/null 2>&1; then
  log "azd is required (by hand, pass speechWebhookSecret=\$(openssl rand -hex 32) to the deployment)"
  exit 127
fi

if [ -n "$(azd env get-value "$NAME" 2> /dev/null || true)" ]; then
  log "$NAME is set; kept"
  exit 0
fi
# 32 random bytes as 64 hex characters: no openssl needed, nothing to escape in JSON or a URL.
secret="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
azd env set "$NAME" "$secret" > /dev/null
log "$NAME generated (not shown)"
