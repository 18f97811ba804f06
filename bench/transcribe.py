"""Benchmark the transcription + attribution stages against raw faster-whisper on the same files.

Run: .venv/bin/python bench/transcribe.py [FILE ...] [--model base] [--repeat 2]

Prints, per file and in one run: raw faster-whisper real-time factor (same model, int8, beam,
VAD, word timestamps, condition_on_previous_text=False), raw BatchedInferencePipeline, our
transcribe stage, our transcribe + attribute stages (what a worker does), the overhead ratio,
peak memory, and the end-to-end calls per hour this machine would handle for 10-minute calls.
Real-time factor (RTF) here = audio seconds per wall second (higher is faster).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TALKTRACK_MODEL_CACHE_DIR", str(REPO / "var" / "models"))
DEFAULT_FILES = [REPO / "tests/fixtures/audio/dialog_en_stereo.flac", REPO / "tests/fixtures/audio/dialog_en_mono.wav"]


def machine() -> str:
    import ctranslate2
    import faster_whisper

    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    return (f"machine: {cpu}, {os.cpu_count()} cores, python {platform.python_version()}, "
            f"faster-whisper {faster_whisper.__version__}, ctranslate2 {ctranslate2.__version__}, "
            f"load average {os.getloadavg()[0]:.1f} at start")


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Fastest of `repeat` runs after one warm-up: the least disturbed by other load."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def attribute(path: Path, words: tuple) -> int:  # type: ignore[type-arg]
    """What the attribute stage computes: per-word speakers, then turns with roles."""
    from app.transcripts import roles as roles_mod
    from app.transcripts.formats import Word
    from app.transcripts.turns import build_utterances
    from models import audio, diarizer

    plain = [Word(w.start, w.end, w.text, w.probability) for w in words]
    if audio.probe(path).channels >= 2:
        left, right = audio.load(path, split_stereo=True)
        labels = ["left" if a.channel == 0 else "right" for a in diarizer.attribute_stereo(words, left, right)]
        roles = {"left": "rep", "right": "customer"}
    else:
        result = diarizer.diarize_mono(audio.load(path))
        labels = [f"s{min(result.turns, key=lambda t: abs((t.start + t.end) / 2 - (w.start + w.end) / 2)).speaker}"
                  for w in words] if result.turns else ["s0"] * len(words)
        decision = roles_mod.decide_roles_for_words(plain, labels, language="en")
        roles = {s: ("rep" if s == decision.rep_speaker else "customer") for s in set(labels)}
    return len(build_utterances(list(zip(plain, labels, strict=True)), roles=roles))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    parser.add_argument("--model", default="base")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from models import TranscribeOptions, get_model_settings, get_transcriber, load
    from models.transcriber import resolve_model_path

    settings = get_model_settings()
    print(machine())
    print(f"model {args.model}, int8, {settings.cpu_threads} threads, beam {settings.beam_size}, best of {args.repeat}")
    raw = WhisperModel(resolve_model_path(args.model), device="cpu", compute_type="int8", cpu_threads=settings.cpu_threads)
    batched = BatchedInferencePipeline(raw)
    ours = get_transcriber(args.model)
    kwargs = dict(language="en", beam_size=settings.beam_size, vad_filter=True, word_timestamps=True)
    header = f"{'file':34s} {'audio s':>7s} {'raw RTF':>8s} {'batched':>8s} {'ours asr':>8s} {'ours+attr':>9s} {'overhead':>8s} {'calls/h (10 min)':>16s}"
    print(header)
    for path in args.files:
        audio = load(path)
        duration = len(audio) / 16000
        # Raw baselines read the same file (decoding included), as a worker must.
        t_raw = best_of(lambda: list(raw.transcribe(str(path), condition_on_previous_text=False, **kwargs)[0]), args.repeat)
        t_batched = best_of(lambda: list(batched.transcribe(str(path), batch_size=8, **kwargs)[0]), args.repeat)
        result = ours.transcribe(path, TranscribeOptions(language="en"))
        t_ours = best_of(lambda: ours.transcribe(path, TranscribeOptions(language="en")), args.repeat)
        t_attr = best_of(lambda: attribute(path, result.words), args.repeat)
        stage = t_ours + t_attr
        calls_per_hour = 3600 / (600 * stage / duration)
        print(f"{path.name[:34]:34s} {duration:7.1f} {duration / t_raw:7.1f}x {duration / t_batched:7.1f}x "
              f"{duration / t_ours:7.1f}x {duration / stage:8.1f}x {stage / t_raw - 1:+7.1%} {calls_per_hour:16.1f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print("overhead = (ours asr + attribution) / raw faster-whisper - 1; calls/h assumes one worker on this machine")


if __name__ == "__main__":
    main()
