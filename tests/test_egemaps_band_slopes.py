"""eGeMAPS' 0-500 / 500-1500 Hz band slopes, frame by frame against openSMILE's.

The stored expectations are openSMILE 2.6.0's ``cSpectral`` slopes (eGeMAPSv02's options) of
the first 8 frames of :func:`_signal` at each rate, exported by the probe configuration of
``benchmarks/egemaps_slope_probe.py``; the last test recomputes them where openSMILE is
installed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from _helpers import SR, pulse_vowel, with_silence
from psymodal.speech import extract_features
from psymodal.speech.egemaps import _band_slope_weights, _band_slopes, _native_spectrum

# openSMILE reads 16-bit samples as k / 32767 where psymodal reads k / 32768: its power is
# 1.00006 times ours, which moves a slope by ~2e-7 dB/Hz (the weights do not sum to 0).
TOL = 2e-6

OPENSMILE = {
    8000: [
        [0.001960893, -0.024853621],
        [-0.033422057, -0.013439114],
        [-0.020735929, -0.013939495],
        [0.008970519, -0.008496850],
        [-0.038393039, -0.008262968],
        [-0.035520039, -0.004725032],
        [-0.024760058, -0.022062043],
        [0.002701660, -0.014835458],
    ],
    16000: [
        [-0.017064903, -0.021735225],
        [-0.006042834, -0.013404206],
        [-0.032264434, -0.012839155],
        [0.004791982, -0.019895215],
        [-0.031730611, -0.013350070],
        [-0.015358440, -0.027557978],
        [-0.006424821, -0.022073559],
        [-0.011564014, -0.015901508],
    ],
    22050: [
        [-0.000301105, -0.018490896],
        [-0.074497961, -0.024047999],
        [-0.004925222, -0.021452567],
        [-0.000626797, -0.015546205],
        [0.015941434, -0.017494282],
        [-0.000372098, -0.014803446],
        [-0.046053696, -0.015190489],
        [0.003362832, -0.038595509],
    ],
    44100: [
        [-0.054480612, -0.011220295],
        [0.026120026, -0.021722235],
        [0.006891347, -0.016905027],
        [-0.021621821, -0.017449515],
        [0.058963913, -0.011051389],
        [-0.015293142, -0.023397351],
        [-0.044094864, -0.009793887],
        [0.000808139, -0.016932394],
    ],
    48000: [
        [-0.054011069, -0.010918544],
        [0.006416013, -0.017361963],
        [-0.003500253, -0.013822259],
        [-0.022442151, -0.004443451],
        [0.034958337, -0.015332528],
        [-0.037199453, -0.014061747],
        [-0.025665151, -0.024848737],
        [-0.004796402, -0.019681424],
    ],
}


def _signal(sr: int) -> np.ndarray:
    """0.1 s of two tones (220 and 740 Hz) in noise, on the 16-bit grid."""
    t = np.arange(int(0.1 * sr)) / sr
    rng = np.random.default_rng(7)
    y = (
        0.3 * np.sin(2 * np.pi * 220 * t)
        + 0.2 * np.sin(2 * np.pi * 740 * t)
        + 0.05 * rng.standard_normal(len(t))
    )
    return (np.round(y * 32768) / 32768).astype(np.float32)


def _slopes(sr: int) -> np.ndarray:
    power, freqs, _ = _native_spectrum(_signal(sr), sr)
    return _band_slopes(power, freqs)


@pytest.mark.parametrize("sr", sorted(OPENSMILE))
def test_band_slopes_match_stored_opensmile_frames(sr):
    expected = np.array(OPENSMILE[sr])
    np.testing.assert_allclose(_slopes(sr)[: len(expected)], expected, rtol=0, atol=TOL)


def test_silent_frame_reads_the_log_floor():
    # openSMILE floors the power at 1e-14 before log10: a digitally silent 16 kHz frame
    # reads 0.112 and 0.0764 dB/Hz (-14 times the weights' sums)
    power = np.zeros((1, 257))
    freqs = np.arange(257) * 31.25
    np.testing.assert_allclose(_band_slopes(power, freqs)[0], [0.112, 0.07636364], atol=1e-7)


def test_edge_bins_count_by_their_fraction_inside_the_band():
    freqs = np.arange(40) * 22050 / 512  # 43.07 Hz bins: 500 Hz falls at bin 11.61
    low, high = _band_slope_weights(freqs, 0, 500), _band_slope_weights(freqs, 500, 1500)
    assert np.flatnonzero(low).tolist() == list(range(12))
    assert np.flatnonzero(high).tolist() == list(range(11, 35))
    # inside a band the weights lie on one line; an edge bin's weight is that line's value
    # times the bin's fraction inside the band (0.61 and 0.39 of bin 11, 0.83 of bin 34)
    for w, inner, edges in (
        (low, range(0, 11), {11: 0.60998}),
        (high, range(12, 34), {11: 0.39002, 34: 0.82993}),
    ):
        a, b = np.polyfit(list(inner), w[list(inner)], 1)
        for k, frac in edges.items():
            assert w[k] / (a * k + b) == pytest.approx(frac, abs=1e-4)


def test_band_slopes_match_live_opensmile():
    opensmile = pytest.importorskip("opensmile")
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from egemaps_slope_probe import Probe

    with tempfile.TemporaryDirectory() as tmp:
        probe = Probe(opensmile, Path(tmp))
        for sr in sorted(OPENSMILE):
            reference = probe(_signal(sr), sr, "spec")
            ours = _slopes(sr)[: len(reference)]
            np.testing.assert_allclose(ours, reference, rtol=0, atol=TOL)


def test_voiced_functionals_leave_out_the_last_frames_as_opensmile():
    keep = {"egemaps": {"spectral_tail_frames": 0}}
    names = ("slopeV0-500_sma3nz_amean", "mfcc1V_sma3nz_amean")
    # voiced to its end: the default leaves out the last 2 frames, 0 keeps them
    to_end = np.concatenate([np.zeros(SR // 5), pulse_vowel(0.4)])
    dropped, kept = extract_features(to_end, SR), extract_features(to_end, SR, keep)
    assert all(dropped[name] != kept[name] for name in names)
    # an unvoiced end: the frames left out were not voiced anyway
    padded = with_silence(pulse_vowel(0.4))
    dropped, kept = extract_features(padded, SR), extract_features(padded, SR, keep)
    assert all(dropped[name] == kept[name] for name in names)
