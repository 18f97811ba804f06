"""Benchmark: our WhisperTranscriber vs raw faster-whisper on the same file (tiny.en and base).

Run: .venv/bin/python bench/bench_transcribe.py [AUDIO] [--repeat N]
Prints audio-seconds per wall-second, peak RSS and the machine. Baseline = raw
WhisperModel.transcribe with the same beam/VAD/word settings, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
REPO = Path(__file__).resolve().parents[1]


def machine() -> str:
    """CPU model, cores and library versions."""
    import ctranslate2
    import torch

    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), platform.processor())
    return (f"cpu={cpu} cores={os.cpu_count()} python={platform.python_version()} "
            f"torch={torch.__version__} ctranslate2={ctranslate2.__version__} load1={os.getloadavg()[0]:.1f}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("audio", nargs="?", default=str(REPO / "tests/fixtures/audio/dialog_en_mono.wav"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--beams", default="1,5")
    args = parser.parse_args()
    from faster_whisper import WhisperModel

    from models import TranscribeOptions, get_model_settings, get_transcriber, load

    print(machine())
    audio = load(args.audio)
    dur = len(audio) / 16000
    threads = get_model_settings().cpu_threads
    print(f"file={args.audio} duration={dur:.1f}s threads={threads}")
    for name in ("tiny.en", "base"):
        ours = get_transcriber(name)
        raw = WhisperModel(str(_path(name)), device="cpu",
                           compute_type="int8", cpu_threads=threads)
        for beam in (int(b) for b in args.beams.split(",")):
            opts = TranscribeOptions(language="en", beam_size=beam)
            t_ours = timed(lambda: ours.transcribe(audio, opts), args.repeat)
            t_raw = timed(lambda: list(raw.transcribe(audio, language="en", beam_size=beam, vad_filter=True,
                                                      word_timestamps=True, condition_on_previous_text=False)[0]), args.repeat)
            print(f"{name:8s} beam={beam} ours={dur / t_ours:6.1f}x  raw faster-whisper={dur / t_raw:6.1f}x  "
                  f"(audio s per wall s) peak_rss={peak_rss_mb():.0f} MB")


def _path(name: str) -> Path:
    from models.transcriber import resolve_model_path

    return Path(resolve_model_path(name))


if __name__ == "__main__":
    main()
