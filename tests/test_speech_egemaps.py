"""Tests of the eGeMAPS-equivalent functionals on synthetic signals with known properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from _helpers import SR, pulse_vowel, with_silence
from psymodal.io.tables import read_tsv
from psymodal.speech import extract_features, process_subject, read_audio
from psymodal.speech.egemaps import (
    _spectral_llds,
    band_limit_hz,
    egemaps_names,
    psymodal_name,
)
from psymodal.speech.spectral import power_spectrogram

KEEP = {"egemaps": {"nyquist_policy": "keep"}}


def test_names_match_opensmile_layout():
    names = egemaps_names()
    assert len(names) == 88 and len(set(names)) == 88
    assert names[0] == "F0semitoneFrom27.5Hz_sma3nz_amean"
    assert names[10] == "loudness_sma3_amean"
    assert "pm_jitterLocal_sma3nz_amean" in names and "HNRdBACF_sma3nz_amean" in names
    assert names[-1] == "equivalentSoundLevel_dBp"
    feats = extract_features(pulse_vowel(0.6), SR)
    assert [k for k in feats if k in set(names)] == names


def test_f0_and_voiced_segments():
    y = with_silence(
        np.concatenate(
            [
                pulse_vowel(0.5, f0=150.0),
                np.zeros(int(0.4 * SR)),
                pulse_vowel(0.5, f0=150.0),
                np.zeros(int(0.4 * SR)),
                pulse_vowel(0.5, f0=150.0),
            ]
        )
    )
    feats = extract_features(y, SR)
    assert feats["F0semitoneFrom27.5Hz_sma3nz_amean"] == pytest.approx(
        12 * math.log2(150 / 27.5), abs=0.2
    )
    assert feats["F0semitoneFrom27.5Hz_sma3nz_pctlrange0-2"] < 0.3
    duration_f0 = len(y) / SR - 0.05  # F0 frames cover the signal less one 60 ms window
    assert feats["VoicedSegmentsPerSec"] == pytest.approx(3 / duration_f0, rel=0.05)
    # openSMILE 2.6.0 gives 0.53 here: 60 ms F0 frames reaching into a vowel are voiced.
    assert feats["MeanVoicedSegmentLengthSec"] == pytest.approx(0.53, abs=0.04)
    assert feats["MeanUnvoicedSegmentLength"] == pytest.approx(0.4, abs=0.2)


def test_jitter_and_shimmer_from_known_perturbations():
    rng = np.random.default_rng(5)
    # Integer periods around 100 samples (160 Hz) with random cycle-to-cycle perturbation.
    periods = np.round(100.0 * (1 + 0.01 * rng.standard_normal(400)))
    amps = 10 ** (0.5 * rng.standard_normal(400) / 20)  # ~0.5 dB amplitude perturbation
    steady = extract_features(pulse_vowel(1.0, periods=[100.0]), SR)
    jittered = extract_features(pulse_vowel(1.0, periods=list(periods)), SR)
    shimmered = extract_features(pulse_vowel(1.0, periods=[100.0], amps=list(amps)), SR)
    n = int(0.9 * SR / 100)  # periods inside the signal
    true_jitter = np.mean(np.abs(np.diff(periods[:n]))) / np.mean(periods[:n])
    true_shimmer = np.mean(np.abs(20 * np.log10(amps[1:n] / amps[: n - 1])))
    assert steady["pm_jitterLocal_sma3nz_amean"] < 0.002
    # Mark placement is accurate to a few tenths of a sample, which adds ~0.2 % jitter.
    assert jittered["pm_jitterLocal_sma3nz_amean"] == pytest.approx(true_jitter, rel=0.3)
    assert steady["pm_shimmerLocaldB_sma3nz_amean"] < 0.1
    assert shimmered["pm_shimmerLocaldB_sma3nz_amean"] == pytest.approx(true_shimmer, rel=0.3)


def test_hnr_drops_with_noise():
    # 150 Hz: openSMILE's SHS, which eGeMAPS' F0 reproduces, reads the 120 Hz default pulse
    # train an octave up (HNR at half the period), as openSMILE does.
    clean = pulse_vowel(1.0, f0=150.0)
    noisy = clean + np.random.default_rng(3).normal(0, 0.3 * np.std(clean), len(clean))
    hnr_clean = extract_features(clean, SR)["HNRdBACF_sma3nz_amean"]
    hnr_noisy = extract_features(noisy, SR)["HNRdBACF_sma3nz_amean"]
    # Like openSMILE's HNRdBACF, no correction for the window's own autocorrelation: a
    # perfectly periodic signal reads ~8 dB, not infinity.
    assert hnr_clean > 6.0
    assert hnr_noisy < hnr_clean - 1.5


def test_spectral_balance_of_white_noise():
    y = np.random.default_rng(4).normal(0, 0.1, 2 * SR)
    power, freqs = power_spectrogram(y, SR, 160, 0.020)
    llds = _spectral_llds(power[2:-2], freqs, SR)
    # Flat spectrum: energy in 1-5 kHz is 4x that in 0-1 kHz -> +6 dB.
    assert np.mean(llds["alphaRatio"]) == pytest.approx(10 * math.log10(4), abs=0.5)
    assert abs(np.mean(llds["slope0-500"])) < 0.005
    assert abs(np.mean(llds["slope500-1500"])) < 0.002


def test_loudness_grows_with_level():
    y = pulse_vowel(1.0)
    soft = extract_features(0.25 * y, SR)["loudness_sma3_amean"]
    loud = extract_features(y, SR)["loudness_sma3_amean"]
    # Loudness ~ (power)^0.33 -> x4 amplitude gives 16^0.33 ~ 2.5 x loudness.
    assert loud / soft == pytest.approx(16**0.33, rel=0.1)
    level = extract_features(y, SR)["equivalentSoundLevel_dBp"]
    assert level - extract_features(0.25 * y, SR)["equivalentSoundLevel_dBp"] == pytest.approx(
        20 * math.log10(4), abs=0.01
    )


def test_narrowband_input_flags_features_above_nyquist(tmp_path):
    y8 = scipy.signal.resample_poly(with_silence(pulse_vowel(1.0)), 1, 2)
    path = tmp_path / "sub-01_task-reading_audio.wav"
    sf.write(path, y8, 8000)
    audio = read_audio(path, 16000)
    feats = extract_features(audio.y, audio.sr, native_sr=audio.native_sr)
    limited = [k for k in feats if not k.startswith("qc_") and band_limit_hz(k) > 4000]
    assert limited and all(math.isnan(feats[k]) for k in limited)
    assert "alphaRatioV_sma3nz_amean" in limited and "mfcc1_mean" in limited
    assert not math.isnan(feats["F0semitoneFrom27.5Hz_sma3nz_amean"])
    assert not math.isnan(feats["slopeV0-500_sma3nz_amean"])
    assert feats["qc_nyquist_limited_features"] == len(limited)
    kept = extract_features(audio.y, audio.sr, KEEP, native_sr=8000)
    assert not math.isnan(kept["alphaRatioV_sma3nz_amean"])
    process_subject("01", [path], tmp_path / "f.tsv", tmp_path / "q.tsv", None)
    qc = read_tsv(tmp_path / "q.tsv")
    assert qc.loc[0, "nyquist_limited_features"] == len(limited)
    assert qc.loc[0, "native_sample_rate"] == 8000


def test_egemaps_deterministic_and_disable():
    y = with_silence(pulse_vowel(0.8, periods=[98.0, 102.0]))
    a, b = extract_features(y, SR), extract_features(y.copy(), SR)
    assert np.array_equal(np.array(list(a.values())), np.array(list(b.values())), equal_nan=True)
    basic = extract_features(y, SR, {"egemaps": {"enabled": False}})
    assert not set(basic) & set(egemaps_names())


def test_harmonic_differences_read_harmonics_two_and_three_as_opensmile_does():
    # openSMILE's "H1-H2" is 20 log10(a2 / a3) on a harmonic complex and does not move with
    # a1, and its "H1-A3" moves with a2, not a1 (benchmarks/egemaps_harmonics_probe.py).
    t = np.arange(SR) / SR

    def features(a1, a2, a3):
        amps = [a1, a2, a3] + [0.02] * 16
        y = sum(a * np.sin(2 * np.pi * (k + 1) * 200.0 * t) for k, a in enumerate(amps))
        return extract_features(0.3 * y / np.abs(y).max(), SR)

    h1h2 = psymodal_name("logRelF0-H1-H2_sma3nz_amean")
    h1a3 = psymodal_name("logRelF0-H1-A3_sma3nz_amean")
    base = features(1.0, 0.5, 0.2)
    assert base[h1h2] == pytest.approx(20 * np.log10(0.5 / 0.2), abs=0.3)
    louder_h1 = features(3.0, 0.5, 0.2)
    assert louder_h1[h1h2] == pytest.approx(base[h1h2], abs=0.3)
    assert louder_h1[h1a3] == pytest.approx(base[h1a3], abs=0.5)
    louder_h2 = features(1.0, 1.0, 0.2)
    assert louder_h2[h1h2] - base[h1h2] == pytest.approx(20 * np.log10(2.0), abs=0.3)
    assert louder_h2[h1a3] - base[h1a3] == pytest.approx(20 * np.log10(2.0), abs=0.5)


def test_the_papers_harmonic_differences_are_psymodal_columns():
    # H1-H2 of the eGeMAPS paper (harmonics 1 and 2) under a psymodal name, beside
    # openSMILE's column of that name (harmonics 2 and 3).
    t = np.arange(SR) / SR
    amps = [1.0, 0.5, 0.2] + [0.02] * 16
    y = sum(a * np.sin(2 * np.pi * (k + 1) * 200.0 * t) for k, a in enumerate(amps))
    feats = extract_features(0.3 * y / np.abs(y).max(), SR)
    # A harmonic's level is its largest bin (15.6 Hz apart): up to ~0.7 dB below its peak.
    assert feats["h1_h2_db_mean"] == pytest.approx(20 * np.log10(1.0 / 0.5), abs=1.0)
    opensmile_h1h2 = feats[psymodal_name("logRelF0-H1-H2_sma3nz_amean")]
    assert opensmile_h1h2 == pytest.approx(20 * np.log10(0.5 / 0.2), abs=0.3)
    # H1-A3 of the paper is H1 minus the strongest harmonic near F3; openSMILE's, H2 minus it
    paper_h1a3 = feats["h1_a3_db_mean"]
    assert paper_h1a3 - feats[psymodal_name("logRelF0-H1-A3_sma3nz_amean")] == pytest.approx(
        20 * np.log10(1.0 / 0.5), abs=1.0
    )
