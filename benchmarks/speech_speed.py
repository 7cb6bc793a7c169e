"""Throughput of psymodal's speech features versus openSMILE eGeMAPSv02 at four input rates.

The same recordings are presented at 16, 22.05, 44.1 and 48 kHz (resampled from the file with
soxr HQ before timing). openSMILE analyses each signal at the rate it is given; psymodal, as
its library and workflow do by default, resamples once to its analysis rate
(``speech.sample_rate``, 16 kHz) with soxr HQ, and that resampling is inside its timed call.
Both get in-memory signals (decoding excluded), one thread, after a warm-up pass. The two tools
are timed alternately, rate by rate, in every repeat, so that a change of machine load hits
both; the script prints, per rate, the median over repeats of each tool's time, audio seconds
per wall-clock second ("x real time") and the ratio (openSMILE time / psymodal time; > 1 means
psymodal is faster), then the same from the process's CPU time, which the load of other jobs
on a shared machine disturbs less. psymodal is timed with its full default set (the basic
features + the 88 eGeMAPS functionals).

``--first-file`` also times, in fresh processes, the first file of a run with an empty numba
cache (the cost without ``make install``'s warm-up) and after ``python -m
psymodal.speech.warmup``.

Exits cleanly (status 0, with a message) when the shared data or openSMILE is absent.

Usage::

    python benchmarks/speech_speed.py [--repeats 5] [--first-file]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from egemaps_corpus import corpus  # noqa: E402
from speech_validate_opensmile import speech_and_reference  # noqa: E402

RATES = (16000, 22050, 44100, 48000)

_FIRST_FILE = """
import sys, time
start = time.perf_counter()
from psymodal.speech import extract_features, load_audio
y, sr = load_audio(sys.argv[1], 16000)
extract_features(y, sr)
print(time.perf_counter() - start)
"""


def timing_sample(speech: Path) -> list[Path]:
    """A fixed mix of the validation corpus: every long real recording, 40 FSDD digits,
    24 espeak-ng sentences and 8 demo recordings."""
    files = corpus(speech, n_fsdd=40, n_espeak=24, n_demo=8)
    return [f.path for f in files]


def first_file_seconds(path: Path, warm: bool) -> float:
    """Seconds from a fresh interpreter to the features of ``path``, with an empty numba
    cache (``warm``: after running the warm-up module in that cache)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    with tempfile.TemporaryDirectory() as cache:
        env["NUMBA_CACHE_DIR"] = cache
        if warm:
            cmd = [sys.executable, "-m", "psymodal.speech.warmup"]
            subprocess.run(cmd, env=env, check=True, capture_output=True)
        out = subprocess.run(
            [sys.executable, "-c", _FIRST_FILE, str(path)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--first-file", action="store_true", help="time the first file too")
    args = parser.parse_args(argv)

    found = speech_and_reference()
    if found is None:
        return 0
    speech, opensmile = found
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.path.insert(0, str(REPO / "src"))
    from psymodal.speech import extract_features, load_audio
    from psymodal.speech.audio import resample
    from psymodal.workflow.threads import limit_threads

    _limits = limit_threads(1)  # noqa: F841 - keep the limit alive for the whole run
    files = timing_sample(speech)
    native = [load_audio(p, sample_rate=None) for p in files]
    signals = {
        rate: [resample(y, sr, rate) if sr != rate else y for y, sr in native] for rate in RATES
    }
    signals32 = {rate: [y.astype(np.float32) for y in ys] for rate, ys in signals.items()}
    audio_s = sum(len(y) / sr for y, sr in native)
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02)

    def run_ours(rate):
        for y in signals[rate]:
            extract_features(y, rate)

    def run_smile(rate):
        for y in signals32[rate]:
            smile.process_signal(y, rate)

    for rate in RATES:  # warm-up pass
        run_ours(rate)
        run_smile(rate)
    times = {(tool, rate): [] for tool in ("psymodal", "openSMILE") for rate in RATES}
    cpu = {key: [] for key in times}
    for _ in range(args.repeats):
        for rate in RATES:
            for tool, fn in (("psymodal", run_ours), ("openSMILE", run_smile)):
                start, start_cpu = time.perf_counter(), time.process_time()
                fn(rate)
                times[tool, rate].append(time.perf_counter() - start)
                cpu[tool, rate].append(time.process_time() - start_cpu)

    print(
        f"{len(files)} files, {audio_s:.1f} s of audio, 1 thread, median of {args.repeats} "
        "repeats, tools alternated"
    )
    print("| input rate | psymodal (x real time) | openSMILE (x real time) | ratio |")
    print("|---|---|---|---|")
    for rate in RATES:
        ours = float(np.median(times["psymodal", rate]))
        ref = float(np.median(times["openSMILE", rate]))
        print(
            f"| {rate / 1000:g} kHz | {ours:.2f} s ({audio_s / ours:.0f}x) | "
            f"{ref:.2f} s ({audio_s / ref:.0f}x) | **{ref / ours:.2f}** |"
        )
    # CPU time of this (single-threaded) process: what other jobs on a shared machine
    # disturb less than wall time (both tools run in this thread).
    print("CPU time (process_time), same calls:")
    print("| input rate | psymodal | openSMILE | ratio |")
    print("|---|---|---|---|")
    for rate in RATES:
        ours = float(np.median(cpu["psymodal", rate]))
        ref = float(np.median(cpu["openSMILE", rate]))
        print(f"| {rate / 1000:g} kHz | {ours:.2f} s | {ref:.2f} s | **{ref / ours:.2f}** |")
    if args.first_file:
        path = files[0]
        cold = first_file_seconds(path, warm=False)
        warm = first_file_seconds(path, warm=True)
        print(
            f"first file ({path.name}) in a fresh process: {cold:.1f} s with an empty numba "
            f"cache, {warm:.1f} s after `python -m psymodal.speech.warmup`"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
