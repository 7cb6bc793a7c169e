"""Tests of psymodal.speech on synthetic signals with known F0, pauses and syllables."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from psymodal.io.tables import read_tsv
from psymodal.speech import (
    AudioError,
    extract_features,
    feature_names,
    find_recordings,
    load_audio,
    process_subject,
    qc_names,
)

SR = 16000


def harmonic(f0, duration, sr=SR, n_harmonics=8, amplitude=0.3):
    """Harmonic complex with 1/k amplitudes; ``f0`` may be an array (per-sample F0)."""
    t = np.arange(int(round(duration * sr))) / sr
    f0 = np.broadcast_to(np.asarray(f0, dtype=float), t.shape)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1))
    return amplitude * y / np.max(np.abs(y))


def with_noise(y, level_db=-70.0, seed=0):
    rng = np.random.default_rng(seed)
    return y + rng.normal(0.0, 10 ** (level_db / 20), len(y))


def bursts(durations, gaps, f0=140.0, sr=SR):
    """Tone bursts of ``durations`` separated by silences ``gaps`` (plus 0.3 s lead/tail)."""
    parts = [np.zeros(int(0.3 * sr))]
    for i, dur in enumerate(durations):
        parts.append(harmonic(f0, dur, sr))
        if i < len(gaps):
            parts.append(np.zeros(int(round(gaps[i] * sr))))
    parts.append(np.zeros(int(0.3 * sr)))
    return with_noise(np.concatenate(parts))


# --- F0 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("f0", [90.0, 150.0, 280.0])
def test_constant_f0_recovered(f0):
    feats = extract_features(with_noise(harmonic(f0, 1.5)), SR)
    assert feats["f0_mean_hz"] == pytest.approx(f0, rel=0.02)
    assert feats["f0_median_hz"] == pytest.approx(f0, rel=0.01)
    assert feats["f0_semitone_mean"] == pytest.approx(12 * math.log2(f0 / 27.5), abs=0.2)
    assert feats["voiced_fraction"] > 0.9


def test_modulated_f0_mean_and_sd():
    # F0 = 130 Hz * 2^(2 sin(2 pi 3 t) / 12): semitone SD of a sinusoid = 2 / sqrt(2).
    t = np.arange(int(3.0 * SR)) / SR
    f0 = 130.0 * 2 ** (2.0 * np.sin(2 * np.pi * 3.0 * t) / 12)
    feats = extract_features(with_noise(harmonic(f0, 3.0)), SR)
    assert feats["f0_semitone_mean"] == pytest.approx(12 * math.log2(130 / 27.5), abs=0.2)
    assert feats["f0_semitone_sd"] == pytest.approx(2 / math.sqrt(2), rel=0.1)
    assert feats["f0_mean_hz"] == pytest.approx(np.mean(f0), rel=0.03)


def test_pyin_selectable():
    settings = {"pitch": {"method": "pyin"}}
    feats = extract_features(with_noise(harmonic(200.0, 0.8)), SR, settings)
    assert feats["f0_mean_hz"] == pytest.approx(200.0, rel=0.02)


def test_unknown_pitch_method():
    with pytest.raises(ValueError, match=r"pitch.method.*'crepe'"):
        extract_features(harmonic(200.0, 0.5), SR, {"pitch": {"method": "crepe"}})


# --- pauses and rates ---------------------------------------------------------------------


def test_pauses_counted_and_timed():
    gaps = [0.4, 0.6, 0.8, 0.12]  # the last is below min_pause_s = 0.25: not a pause
    y = bursts([0.5, 0.5, 0.5, 0.5, 0.5], gaps)
    feats = extract_features(y, SR)
    true = np.array(gaps[:3])
    assert feats["pause_count"] == 3
    assert feats["pause_duration_mean_s"] == pytest.approx(true.mean(), abs=0.02)
    assert feats["pause_duration_median_s"] == pytest.approx(np.median(true), abs=0.02)
    assert feats["pause_duration_sd_s"] == pytest.approx(true.std(), abs=0.02)
    span = 2.5 + sum(gaps)
    assert feats["pause_ratio"] == pytest.approx(true.sum() / span, abs=0.02)
    assert feats["qc_speech_segment_count"] == 4
    assert feats["qc_duration_s"] == pytest.approx(len(y) / SR)


def test_syllable_nuclei_rate():
    # 8 "syllables": a 150 Hz tone with 8 raised-cosine loudness bumps over 2 s (dips of
    # ~14 dB), then one pause and 4 more bumps over 1 s.
    def syllables(n, duration):
        t = np.arange(int(duration * SR)) / SR
        env = 0.2 + 0.8 * np.sin(np.pi * n * t / duration) ** 2
        return harmonic(150.0, duration) * env

    y = with_noise(
        np.concatenate(
            [
                np.zeros(SR // 4),
                syllables(8, 2.0),
                np.zeros(SR // 2),
                syllables(4, 1.0),
                np.zeros(SR // 4),
            ]
        )
    )
    feats = extract_features(y, SR)
    assert feats["qc_syllable_count"] == 12
    assert feats["pause_count"] == 1
    assert feats["articulation_rate_syll_per_s"] == pytest.approx(12 / 3.0, rel=0.05)
    assert feats["speech_rate_syll_per_s"] == pytest.approx(12 / 3.5, rel=0.05)


# --- stable keys, QC and bad signals ------------------------------------------------------


def test_fixed_keys_and_nan_for_silence():
    tone = extract_features(with_noise(harmonic(150.0, 1.0)), SR)
    silent = extract_features(np.zeros(SR), SR)
    expected = feature_names() + [f"qc_{k}" for k in qc_names()]
    assert list(tone) == expected
    assert list(silent) == expected
    assert all(math.isnan(silent[k]) for k in feature_names() if k != "voiced_fraction")
    assert silent["qc_speech_duration_s"] == 0.0
    basic = feature_names({"egemaps": {"enabled": False}})
    assert not any(math.isnan(tone[k]) for k in basic if not k.startswith("pause_d"))


def test_deterministic():
    y = bursts([0.4, 0.6], [0.5], f0=110.0)
    a, b = extract_features(y, SR), extract_features(y.copy(), SR)
    assert np.array_equal(np.array(list(a.values())), np.array(list(b.values())), equal_nan=True)


def test_bad_signals_raise_clear_errors():
    with pytest.raises(ValueError, match="shorter than one analysis frame"):
        extract_features(np.ones(200), SR)
    with pytest.raises(ValueError, match="NaN"):
        extract_features(np.r_[harmonic(150, 0.5), np.nan], SR)
    with pytest.raises(ValueError, match="empty"):
        extract_features(np.array([]), SR)
    with pytest.raises(ValueError, match="mono"):
        extract_features(np.zeros((2, SR)), SR)


# --- loading ------------------------------------------------------------------------------


def test_load_audio_mono_resample_dc(tmp_path):
    y = harmonic(200.0, 1.0, sr=8000) + 0.1  # DC offset
    stereo = np.column_stack([y, 0.5 * y])
    path = tmp_path / "x.wav"
    sf.write(path, stereo, 8000, subtype="FLOAT")
    out, sr = load_audio(path, 16000)
    assert sr == 16000 and out.ndim == 1 and len(out) == 16000
    assert abs(out.mean()) < 1e-12
    again, _ = load_audio(path, 16000)
    assert np.array_equal(out, again)
    native, sr8 = load_audio(path, None)
    assert sr8 == 8000
    assert np.allclose(native, 0.75 * (y - y.mean()))


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("empty.wav", b"", "empty"),
        ("corrupt.wav", b"RIFF\x10\x00\x00\x00WAVEfmt garbage-garbage", "corrupt"),
        ("speech.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "unsupported"),
    ],
)
def test_load_audio_bad_files(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioError, match=match) as info:
        load_audio(path)
    assert name in str(info.value)


def test_load_audio_missing_and_nan(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_audio(tmp_path / "nope.wav")
    y = harmonic(150.0, 0.5)
    y[100] = np.nan
    sf.write(tmp_path / "nan.wav", y, SR, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(tmp_path / "nan.wav")
    sf.write(tmp_path / "nosamples.wav", np.zeros(0), SR)
    with pytest.raises(AudioError, match="no audio samples"):
        load_audio(tmp_path / "nosamples.wav")


# --- per subject --------------------------------------------------------------------------


def test_find_recordings(tmp_path):
    names = [
        "sub-01/audio/sub-01_task-reading_run-10_audio.wav",
        "sub-01/audio/sub-01_task-reading_run-2_audio.flac",
        "sub-01/audio/sub-01_task-picture_audio.ogg",
        "sub-01/audio/sub-01_task-reading_audio.json",
        "sub-01/ses-2/audio/sub-01_ses-2_task-reading_audio.wav",
        "sub-02/audio/sub-02_task-reading_audio.wav",
    ]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = [p.name for p in find_recordings(tmp_path, "01", task="reading")]
    assert found == [
        "sub-01_task-reading_run-2_audio.flac",
        "sub-01_task-reading_run-10_audio.wav",
        "sub-01_ses-2_task-reading_audio.wav",
    ]
    assert len(find_recordings(tmp_path, "sub-01")) == 4
    assert find_recordings(tmp_path, "sub-03") == []


def test_process_subject_aggregates_and_flags(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    sf.write(a, bursts([0.6, 0.6], [0.5], f0=120.0), SR)
    sf.write(b, bursts([0.6, 0.6], [0.5], f0=180.0), SR)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    feats_path, qc_path = tmp_path / "out/f.tsv", tmp_path / "out/q.tsv"
    process_subject("sub-01", [a, b, bad], feats_path, qc_path, {"enabled": True})
    feats, qc = read_tsv(feats_path), read_tsv(qc_path)
    assert list(feats.columns) == ["participant_id", *feature_names()]
    assert feats.loc[0, "participant_id"] == "sub-01"
    assert feats.loc[0, "f0_mean_hz"] == pytest.approx(150.0, rel=0.02)  # mean of recordings
    assert list(qc.columns[:5]) == [
        "participant_id",
        "modality",
        "included",
        "reason",
        "duration_s",
    ]
    assert bool(qc.loc[0, "included"]) and qc.loc[0, "modality"] == "speech"
    assert qc.loc[0, "n_recordings"] == 3 and qc.loc[0, "n_recordings_used"] == 2
    assert "bad.wav" in qc.loc[0, "notes"]


def test_process_subject_unusable(tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR), SR)
    short = tmp_path / "short.wav"
    sf.write(short, harmonic(150.0, 0.01), SR)
    feats_path, qc_path = tmp_path / "f.tsv", tmp_path / "q.tsv"
    process_subject("02", [silent, short], feats_path, qc_path, None)
    feats, qc = read_tsv(feats_path), read_tsv(qc_path)
    assert feats.loc[0, "participant_id"] == "sub-02"
    assert feats[feature_names()].isna().all(axis=None)
    assert not bool(qc.loc[0, "included"])
    assert "silent.wav: too little speech" in qc.loc[0, "reason"]
    assert "short.wav" in qc.loc[0, "reason"] and "shorter" in qc.loc[0, "reason"]
    process_subject("03", [], feats_path, qc_path, None)
    assert read_tsv(qc_path).loc[0, "reason"] == "no recordings found"


def test_qc_figure_per_recording(tmp_path):
    rec = tmp_path / "sub-01_task-reading_audio.wav"
    sf.write(rec, bursts([0.6, 0.6], [0.5], f0=130.0), SR)
    silent = tmp_path / "sub-01_task-vowel_audio.wav"
    sf.write(silent, np.zeros(SR), SR)
    figures = tmp_path / "figs"
    out = (tmp_path / "f.tsv", tmp_path / "q.tsv")
    process_subject("sub-01", [rec, silent], *out, {}, figure_dir=figures)
    # also for the recording with too little speech: the figure shows why it was left out
    assert sorted(p.name for p in figures.iterdir()) == [
        "sub-01_task-reading_desc-qc_audio.png",
        "sub-01_task-vowel_desc-qc_audio.png",
    ]
    first = (figures / "sub-01_task-reading_desc-qc_audio.png").read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    process_subject("sub-01", [rec], *out, {}, figure_dir=figures)
    assert (figures / "sub-01_task-reading_desc-qc_audio.png").read_bytes() == first
    off = tmp_path / "off"
    process_subject("sub-01", [rec], *out, {"qc_figure": False}, figure_dir=off)
    assert not off.exists()


def test_syllable_nuclei_without_voicing_for_speech_that_lost_it():
    """speech.syllables.require_voicing: false counts the intensity peaks of unvoiced speech
    (whispered, or voicing lost to an anonymiser) that de Jong's voicing condition drops."""
    from psymodal.speech.timing import syllable_nuclei

    rng = np.random.default_rng(0)
    t = np.arange(2 * SR) / SR
    whisper = 0.3 * rng.standard_normal(len(t)) * (0.2 + 0.8 * np.sin(np.pi * 8 * t / 2.0) ** 2)
    hop = SR // 100
    frames = len(t) // hop + 1
    unvoiced, speech = np.zeros(frames, bool), np.ones(frames, bool)
    assert len(syllable_nuclei(whisper, SR, hop, unvoiced, speech)) == 0
    nuclei = syllable_nuclei(whisper, SR, hop, unvoiced, speech, {"require_voicing": False})
    assert len(nuclei) == 8
    outside = syllable_nuclei(
        whisper, SR, hop, unvoiced, np.zeros(frames, bool), {"require_voicing": False}
    )
    assert len(outside) == 0  # still only inside speech segments
