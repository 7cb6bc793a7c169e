"""eGeMAPS names that mean openSMILE's values, the definitions behind them, pause-free
recordings and rate-independent analysis."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from _helpers import SR, pulse_vowel, with_silence
from psymodal.speech import extract_features
from psymodal.speech.audio import resample
from psymodal.speech.egemaps import (
    RENAMED,
    RENAMED_PREFIX,
    _bridge_voicing_gaps,
    _count_peaks,
    _mean_sdnorm,
    egemaps_names,
    opensmile_name,
    opensmile_names,
    psymodal_name,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "egemaps_fidelity.md"


def test_renamed_columns_carry_the_prefix_and_map_back():
    names = egemaps_names()
    assert len(set(names)) == 88 and RENAMED <= set(opensmile_names())
    for os_name, name in zip(opensmile_names(), names, strict=True):
        assert name == (RENAMED_PREFIX + os_name if os_name in RENAMED else os_name)
        assert opensmile_name(name) == os_name and psymodal_name(os_name) == name


def test_fidelity_doc_matches_the_code():
    """Every kept name reached r >= 0.8 on both paths (library and workflow) in the published
    table, every renamed one did not on at least one."""

    def value(cell):
        return np.nan if cell == "-" else float(cell)

    rows = {}
    pattern = r"\| `([^`]+)` \| \**`([^`]+)`\** \| \d+ \| ([-0-9.]+) \| ([-0-9.]+) \|"
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(pattern, line)
        if m:
            rows[m.group(1)] = (m.group(2), value(m.group(3)), value(m.group(4)))
    assert set(rows) == set(opensmile_names())
    for os_name, (column, r_library, r_workflow) in rows.items():
        assert column == psymodal_name(os_name)
        kept = r_library >= 0.8 and r_workflow >= 0.8
        assert kept == (os_name not in RENAMED), (os_name, r_library, r_workflow)


def test_stddev_norm_is_signed_as_opensmile():
    """openSMILE's stddevNorm is SD / mean with the mean's sign (checked on 316 files)."""
    mean, sdn = _mean_sdnorm(np.array([-2.0, -4.0, np.nan]))
    assert mean == -3.0 and sdn == pytest.approx(-1.0 / 3.0)
    x = np.random.default_rng(0).normal(size=50)
    assert _mean_sdnorm(x) == (pytest.approx(x.mean()), pytest.approx(x.std() / x.mean()))


def test_short_voicing_gaps_are_bridged_in_log_frequency():
    f0 = np.array([np.nan, 100, np.nan, 400, np.nan, np.nan, np.nan, 100, 100, np.nan])
    out = _bridge_voicing_gaps(f0, 2)
    assert out[2] == pytest.approx(200.0)  # geometric mean of the neighbours
    assert np.isnan(out[[0, 4, 5, 6, 9]]).all()  # edges and a 3-frame gap stay unvoiced
    assert np.array_equal(_bridge_voicing_gaps(f0, 0), f0, equal_nan=True)


def test_loudness_peaks_need_a_tenth_of_the_range():
    t = np.linspace(0, 1, 201)
    bumps = np.sin(2 * np.pi * 5 * t) + 0.05 * np.sin(2 * np.pi * 40 * t)
    assert _count_peaks(bumps) == 5  # the small ripples are not peaks
    assert _count_peaks(np.ones(10)) == 0


def test_recording_without_pause_has_zero_pauses_and_undefined_durations():
    feats = extract_features(with_silence(pulse_vowel(1.2)), SR)
    assert feats["pause_count"] == 0 and feats["pause_ratio"] == 0
    for name in ["pause_duration_mean_s", "pause_duration_median_s", "pause_duration_sd_s"]:
        assert math.isnan(feats[name])
    assert feats["qc_pause_free_recordings"] == 1
    vowel = pulse_vowel(0.5)
    paused = with_silence(np.concatenate([vowel, np.zeros(int(0.5 * SR)), vowel]))
    assert extract_features(paused, SR)["qc_pause_free_recordings"] == 0


def test_higher_rates_are_analysed_at_the_analysis_rate():
    y16 = with_silence(pulse_vowel(0.6))
    y48 = resample(y16, SR, 48000)
    direct = extract_features(resample(y48, 48000, SR), SR, native_sr=48000)
    # except eGeMAPS' 20 ms spectral LLDs, read from the 48 kHz samples on openSMILE's frames
    # at that rate (tests/test_speech_egemaps_native_rate.py)
    spectral = ("loudness", "mfcc", "alphaRatio", "hammarberg", "slope", "spectralFlux")
    same = [
        k for k in direct if not ("_sma3" in k or "Peaks" in k) or not any(s in k for s in spectral)
    ]
    ours = extract_features(y48, 48000)
    assert {k: ours[k] for k in same} == pytest.approx(
        {k: direct[k] for k in same}, nan_ok=True, rel=0, abs=0
    )
    assert len(same) < len(direct)
    # A lower rate is analysed as it is: the same features as with resampling switched off.
    y8 = resample(y16, SR, 8000)
    native = extract_features(y8, 8000, {"sample_rate": None})
    assert extract_features(y8, 8000) == pytest.approx(native, nan_ok=True, rel=0, abs=0)
