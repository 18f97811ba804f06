#!/usr/bin/env bash
# Rebuilds the two synthetic demo audio calls from audio_scripts/*.txt (documentation; not run by CI).
#
#   ridgeline (stereo .ogg): rep on the LEFT channel (espeak-ng voice en-us), customer on the RIGHT
#     channel (voice en-us+f3); each channel also carries the other party at -20 dB (light crosstalk,
#     as a real two-channel call recorder picks up); short pauses between turns. Sidecar: rep_channel "left".
#   bluewater (mono .mp3): both voices mixed on one channel, for the diarization path.
#
# Needs espeak-ng, sox and ffmpeg (with libopus and libmp3lame). Usage: demo_data/make_audio.sh
set -euo pipefail
cd "$(dirname "$0")"
REP_VOICE="en-us"
CUSTOMER_VOICE="en-us+f3"
SPEED=160          # words per minute; espeak's default (175) sounds rushed for a phone call
RATE=16000         # the transcriber's native rate
PAUSES=(0.45 0.7 0.35 0.9 0.5 0.6 0.4 0.8)   # seconds between turns, cycled; fixed so rebuilds are identical
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# say TEXT VOICE OUT: one turn as a mono 16 kHz wav
say() {
  espeak-ng -v "$2" -s "$SPEED" -w "$work/raw.wav" "$1"
  sox "$work/raw.wav" -r "$RATE" -c 1 -b 16 "$3" norm -3
}

# build SCRIPT PREFIX: writes PREFIX.rep.wav and PREFIX.customer.wav, equal length, one party each
build() {
  local script="$1" prefix="$2" i=0 rep_parts=() cust_parts=()
  while IFS= read -r line; do
    [[ -z "$line" ]] && continue
    local who="${line%%:*}" text="${line#*: }"
    local seg="$work/seg$i.wav" sil="$work/sil$i.wav" gap="$work/gap$i.wav"
    if [[ "$who" == "Rep" ]]; then say "$text" "$REP_VOICE" "$seg"; else say "$text" "$CUSTOMER_VOICE" "$seg"; fi
    sox -n -r "$RATE" -c 1 -b 16 "$sil" trim 0 "$(soxi -D "$seg")"
    sox -n -r "$RATE" -c 1 -b 16 "$gap" trim 0 "${PAUSES[$((i % ${#PAUSES[@]}))]}"
    if [[ "$who" == "Rep" ]]; then rep_parts+=("$seg" "$gap"); cust_parts+=("$sil" "$gap")
    else rep_parts+=("$sil" "$gap"); cust_parts+=("$seg" "$gap"); fi
    i=$((i + 1))
  done < "$script"
  sox "${rep_parts[@]}" "$prefix.rep.wav"
  sox "${cust_parts[@]}" "$prefix.customer.wav"
}

# Stereo: left = rep + customer at -20 dB (gain 0.1), right = customer + rep at -20 dB.
build audio_scripts/2026-11-19_ridgeline_followup_stereo.txt "$work/ridgeline"
sox -M "$work/ridgeline.rep.wav" "$work/ridgeline.customer.wav" "$work/ridgeline.both.wav"
sox "$work/ridgeline.both.wav" "$work/ridgeline.stereo.wav" remix 1v1,2v0.1 2v1,1v0.1 pad 0.6 0.8
ffmpeg -loglevel error -y -i "$work/ridgeline.stereo.wav" -c:a libopus -b:a 24k -ac 2 \
  2026-11-19_ridgeline_followup.ogg

# Mono: both parties on one channel.
build audio_scripts/2026-11-24_bluewater_checkin_mono.txt "$work/bluewater"
sox -m "$work/bluewater.rep.wav" "$work/bluewater.customer.wav" "$work/bluewater.mono.wav" pad 0.5 0.7 norm -1
ffmpeg -loglevel error -y -i "$work/bluewater.mono.wav" -c:a libmp3lame -b:a 32k -ac 1 \
  2026-11-24_bluewater_checkin.mp3

for f in 2026-11-19_ridgeline_followup.ogg 2026-11-24_bluewater_checkin.mp3; do
  printf '%s  %ss  %s bytes\n' "$f" "$(soxi -D "$f" 2>/dev/null || ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")" "$(stat -c %s "$f")"
done
