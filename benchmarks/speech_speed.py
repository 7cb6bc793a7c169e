"""Throughput of psymodal's speech features versus openSMILE eGeMAPSv02 on the same signals.

Both extractors get the same in-memory signals (decoding excluded), one thread, after one
warm-up pass (imports, caches, any JIT compilation). Throughput is audio seconds processed per
wall-clock second ("x real time"); the script prints both and their ratio (psymodal /
openSMILE; > 1 means psymodal is faster). psymodal is timed with its full default feature set
(phase-1 features + the 88 eGeMAPS functionals).

Exits cleanly (status 0, with a message) when the shared data or openSMILE is absent.

Usage::

    python benchmarks/speech_speed.py [--n-fsdd 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from speech_validate_opensmile import speech_and_reference, validation_files  # noqa: E402


def _best_time(fn, signals, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for y, sr in signals:
            fn(y, sr)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-fsdd", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    found = speech_and_reference()
    if found is None:
        return 0
    speech, opensmile = found
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.path.insert(0, str(REPO / "src"))
    from psymodal.speech import extract_features, load_audio
    from psymodal.workflow.threads import limit_threads

    _limits = limit_threads(1)  # noqa: F841 - keep the limit alive for the whole run
    files = validation_files(speech, args.n_fsdd)
    # Each file at 16 kHz, psymodal's default analysis rate, for both extractors.
    signals = [load_audio(p, 16000) for p in files]
    signals32 = [(y.astype(np.float32), sr) for y, sr in signals]
    audio_s = sum(len(y) / sr for y, sr in signals)
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02)

    def run_ours(y, sr):
        extract_features(y, sr)

    def run_smile(y, sr):
        smile.process_signal(y, sr)

    for (y, sr), (y32, _) in zip(signals, signals32, strict=True):  # warm-up pass
        run_ours(y, sr)
        run_smile(y32, sr)
    t_ours = _best_time(run_ours, signals, args.repeats)
    t_smile = _best_time(run_smile, signals32, args.repeats)
    long = [(y, sr) for y, sr in signals if len(y) / sr > 2.0]
    long32 = [(y.astype(np.float32), sr) for y, sr in long]
    long_s = sum(len(y) / sr for y, sr in long)
    t_ours_long = _best_time(run_ours, long, args.repeats)
    t_smile_long = _best_time(run_smile, long32, args.repeats)

    print(
        f"{len(files)} files, {audio_s:.1f} s of audio at 16 kHz, 1 thread, best of {args.repeats}"
    )
    print(f"psymodal : {audio_s / t_ours:7.1f} x real time ({t_ours:.2f} s)")
    print(f"openSMILE: {audio_s / t_smile:7.1f} x real time ({t_smile:.2f} s)")
    print(f"ratio psymodal/openSMILE (all files): {t_smile / t_ours:.2f}")
    print(
        f"long files only (> 2 s, {len(long)} files, {long_s:.1f} s): psymodal "
        f"{long_s / t_ours_long:.1f} x, openSMILE {long_s / t_smile_long:.1f} x, "
        f"ratio {t_smile_long / t_ours_long:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
