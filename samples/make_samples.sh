#!/usr/bin/env bash
# Regenerates the committed sample recordings (espeak-ng + sox from Debian). 16 kHz mono 16-bit WAV.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
say() { espeak-ng -v "$1" -s 150 -w "$tmp/raw.wav" "$2" && sox -D "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$3"; }
sox -n -r 16000 -c 1 -b 16 "$tmp/gap.wav" trim 0 0.8

say en-us "Welcome to the serverless speech pipeline. Drop a recording into the input container." "$tmp/a1.wav"
say en-us "A transcript with speakers and timings appears next to it a few seconds later." "$tmp/a2.wav"
sox "$tmp/a1.wav" "$tmp/gap.wav" "$tmp/a2.wav" welcome.wav

say en-us "Good morning, thank you for calling the help desk." "$tmp/b1.wav"
say en+f3 "Hello, my laptop will not connect to the network." "$tmp/b2.wav"
say en-us "Have you tried restarting the wireless adapter?" "$tmp/b3.wav"
say en+f3 "Yes, I restarted it twice and nothing changed." "$tmp/b4.wav"
sox "$tmp/b1.wav" "$tmp/gap.wav" "$tmp/b2.wav" "$tmp/gap.wav" "$tmp/b3.wav" "$tmp/gap.wav" "$tmp/b4.wav" help-desk-call.wav
