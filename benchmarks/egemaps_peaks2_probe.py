"""openSMILE's ``Peaks2`` functionals (eGeMAPS' slopes and peak count), probed as a black box.

openSMILE's source is not read (non-commercial licence). A probe configuration written here
runs ``cFunctionals`` with the ``Peaks2`` options of eGeMAPSv02
(``GeMAPSv01b_core.func.conf.inc``: ``relThresh`` 0.1, ``norm`` seconds) on the whole input,
with the rising/falling slope means and SDs switched on and its documented position debug
output (``posDbgOutp``) written to a file. Each contour is given to it as a 100 Hz signal
(one sample per 10 ms frame; values halved to stay inside the 16-bit range its wave input
quantises to, slopes doubled back). The script prints, for hand-made contours, the extrema
and slopes openSMILE reports next to psymodal's (:func:`psymodal.speech.egemaps._slopes`),
then the agreement on random smooth contours: the fraction reproduced to 1 % and Pearson r
per functional, for psymodal's definition and for the one before this probe (slopes between
each maximum whose prominence reaches 10 % of the range and the lowest points beside it).

Usage::

    python benchmarks/egemaps_peaks2_probe.py [--n-random 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from psymodal.speech.egemaps import _peaks2_extrema, _slopes
from psymodal.speech.peaks import find_peaks

PROBE_CONF = """
[componentInstances:cComponentManager]
instance[dataMemory].type=cDataMemory
printLevelStats=0

\\{\\cm[source{?}:include external source]}

[componentInstances:cComponentManager]
instance[probe_peaks].type=cFunctionals

[probe_peaks:cFunctionals]
reader.dmLevel = wave
writer.dmLevel = func
copyInputName = 1
frameMode = full
frameSize = 0
frameStep = 0
frameCenterSpecial = left
noPostEOIprocessing = 0
functionalsEnabled = Peaks2
Peaks2.numPeaks = 1
OFF_OPTIONS
Peaks2.meanRisingSlope = 1
Peaks2.stddevRisingSlope = 1
Peaks2.meanFallingSlope = 1
Peaks2.stddevFallingSlope = 1
Peaks2.norm = seconds
Peaks2.relThresh = 0.100000
Peaks2.dynRelThresh = 0
Peaks2.posDbgOutp = DEBUG_FILE
Peaks2.posDbgAppend = 0
Peaks2.consoleDbg = 0
nonZeroFuncts = 0
masterTimeNorm = second

\\{\\cm[sink{?}:include external sink]}
"""

OFF = (
    "meanPeakDist meanPeakDistDelta peakDistStddev peakRangeAbs peakRangeRel peakMeanAbs "
    "peakMeanMeanDist peakMeanRel ptpAmpMeanAbs ptpAmpMeanRel ptpAmpStddevAbs ptpAmpStddevRel "
    "minRangeAbs minRangeRel minMeanAbs minMeanMeanDist minMeanRel mtmAmpMeanAbs mtmAmpMeanRel "
    "mtmAmpStddevAbs mtmAmpStddevRel maxRisingSlope minRisingSlope maxFallingSlope "
    "minFallingSlope"
).split()

HAND_MADE = {
    "one peak": [0, 0.1, 0.2, 0.3, 0.4, 0.3, 0.2, 0.1, 0],
    "two peaks": [0, 0.2, 0.4, 0.2, 0, 0.2, 0.4, 0.2, 0],
    "unequal peaks": [0, 0.2, 0.4, 0.2, 0, 0.1, 0.2, 0.1, 0],
    "rising end": [0, 0.2, 0.4, 0.2, 0, 0.1, 0.2, 0.3, 0.4],
    "small bump": [0, 0.2, 0.4, 0.2, 0.1, 0.15, 0.1, 0.05, 0],
    "dip 0.05": [0, 0.2, 0.4, 0.35, 0.4, 0.2, 0],
    "dip 0.03": [0, 0.2, 0.4, 0.37, 0.4, 0.2, 0],
    "notch": [0, 0.2, 0.3, 0.28, 0.4, 0.2, 0],
    "starts high": [0.4, 0.2, 0, 0.2, 0.4, 0.2, 0],
    "plateau": [0, 0.2, 0.4, 0.4, 0.4, 0.2, 0, 0, 0],
    "edges": [0, 0.4, 0.3, 0.32, 0.1, 0],
}


class Probe:
    """openSMILE's Peaks2 on a contour: (rise mean, rise SD, fall mean, fall SD), extrema."""

    def __init__(self, opensmile, workdir: Path):
        self.debug = workdir / "minmax.txt"
        conf = workdir / "peaks2_probe.conf"
        off = "\n".join(f"Peaks2.{name} = 0" for name in OFF)
        conf.write_text(
            PROBE_CONF.replace("OFF_OPTIONS", off).replace("DEBUG_FILE", str(self.debug)),
            encoding="utf-8",
        )
        self.smile = opensmile.Smile(feature_set=str(conf), feature_level="func")

    def __call__(self, x: np.ndarray):
        row = self.smile.process_signal((0.5 * x).astype(np.float32), 100).iloc[0]
        names = ["meanRisingSlope", "stddevRisingSlope", "meanFallingSlope", "stddevFallingSlope"]
        slopes = np.array([2.0 * row[f"pcm_{name}"] for name in names])
        extrema = []
        for line in self.debug.read_text(encoding="utf-8").splitlines():
            if line.startswith("XXXX_"):
                kind, pos = line.split()[0][5:8], int(line.split()[1][2:])
                extrema.append((pos, int(kind == "MAX")))
        return slopes, extrema


def _slopes_before(x: np.ndarray, hop_s: float = 0.01) -> np.ndarray:
    """The definition before this probe: prominence peaks, lowest points beside them."""
    span = float(np.max(x) - np.min(x))
    peaks = find_peaks(x, prominence=0.1 * span) if span > 0 else np.empty(0, dtype=int)
    if len(peaks) == 0:
        return np.zeros(4)
    bounds = np.concatenate([[0], peaks, [len(x) - 1]])
    minima = [
        lo + int(np.argmin(x[lo : hi + 1])) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    idx = np.empty(2 * len(peaks) + 1, dtype=int)
    idx[0::2], idx[1::2] = minima, peaks
    slope = np.abs(np.diff(x[idx])) / (np.maximum(np.diff(idx), 1) * hop_s)
    rising, falling = slope[0::2], slope[1::2]
    return np.array([rising.mean(), rising.std(), falling.mean(), falling.std()])


def random_contour(rng, n: int) -> np.ndarray:
    """A smooth random contour in [0.05, 0.9] on openSMILE's input grid."""
    z = np.convolve(np.cumsum(rng.standard_normal(n)), np.ones(3) / 3, mode="same")
    z = 0.05 + 0.85 * (z - z.min()) / max(z.max() - z.min(), 1e-9)
    return (np.float32(0.5 * np.round(z * 65536) / 65536) * 2).astype(float)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-random", type=int, default=300, help="random contours")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import opensmile
    except ImportError:
        print("openSMILE is not installed (pip install opensmile==2.6.0): nothing to compare")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        probe = Probe(opensmile, Path(tmp))
        print("hand-made contours: openSMILE's extrema (index, 1 = max) and slopes | psymodal's")
        for name, values in HAND_MADE.items():
            x = np.asarray(values, dtype=float)
            ref, extrema = probe(x)
            idx, is_max = _peaks2_extrema(x)
            ours = list(zip(idx.tolist(), is_max.astype(int).tolist(), strict=True))
            mine = np.round(_slopes(x, 0.01)[:4], 3)
            print(f"  {name:14s} {extrema} {np.round(ref, 3)} | {ours} {mine}")
        rng = np.random.default_rng(args.seed)
        rows = {"openSMILE": [], "psymodal": [], "before": []}
        for _ in range(args.n_random):
            x = random_contour(rng, int(rng.integers(15, 80)))
            rows["openSMILE"].append(probe(x)[0])
            rows["psymodal"].append(np.array(_slopes(x, 0.01)[:4]))
            rows["before"].append(_slopes_before(x))
    ref = np.array(rows["openSMILE"])
    tol = 1e-2 * (1 + np.abs(ref).max(axis=1, keepdims=True))
    print(f"\n{args.n_random} random contours (15-80 frames): reproduced to 1 %, r per functional")
    for name in ("psymodal", "before"):
        ours = np.array(rows[name])
        exact = np.mean(np.all(np.abs(ours - ref) <= tol, axis=1))
        r = [np.corrcoef(ours[:, j], ref[:, j])[0, 1] for j in range(4)]
        rise, fall = f"{r[0]:.3f} / {r[1]:.3f}", f"{r[2]:.3f} / {r[3]:.3f}"
        print(f"  {name:9s} {exact:.2f}  rise mean/SD {rise}  fall mean/SD {fall}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
