"""The WORLD pseudo-speaker anonymiser (psymodal.speech.anonymize.world_anonymize)."""

import numpy as np
import pytest

from psymodal.speech.anonymize import pseudo_speaker, world_anonymize

SR = 16000


def _vowel(f0=120.0, seconds=0.6, formants=(700, 1200, 2600)):
    """A glottal pulse train through three resonators, with a slow F0 glide."""
    from scipy.signal import lfilter

    t = np.arange(int(seconds * SR)) / SR
    phase = np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t)) / SR)
    source = np.diff(np.floor(phase), prepend=0.0)
    y = source
    for f in formants:
        r = np.exp(-np.pi * 80 / SR)
        y = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / SR), r * r], y)
    return 0.3 * y / np.max(np.abs(y))


def _f0(y):
    """Median autocorrelation F0 over 40 ms frames (60-400 Hz)."""
    frame, lags = 640, np.arange(SR // 400, SR // 60)
    estimates = []
    for start in range(0, len(y) - 2 * frame, frame // 2):
        x = y[start : start + 2 * frame] - np.mean(y[start : start + 2 * frame])
        r = np.array([np.dot(x[:frame], x[lag : lag + frame]) for lag in lags])
        estimates.append(SR / lags[np.argmax(r)])
    return float(np.median(estimates))


def _centroid(y):
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    return float(np.sum(freqs * spectrum) / np.sum(spectrum))


def test_pseudo_speaker_moves_f0_to_its_target_and_warps_the_envelope():
    y = _vowel()
    z = world_anonymize(y, SR, warp=1.2, f0_target_hz=180.0)
    assert len(z) == len(y)
    assert np.sqrt(np.mean(z**2)) == pytest.approx(np.sqrt(np.mean(y**2)))
    assert _f0(y) == pytest.approx(120, rel=0.05)
    assert _f0(z) == pytest.approx(180, rel=0.08)
    same_f0 = world_anonymize(y, SR, warp=1.2, f0_target_hz=_f0(y))
    assert _centroid(same_f0) > 1.1 * _centroid(world_anonymize(y, SR, 1.0, _f0(y)))
    assert np.array_equal(z, world_anonymize(y, SR, warp=1.2, f0_target_hz=180.0))
    assert np.array_equal(world_anonymize(np.zeros(100), SR, 1.2, 150), np.zeros(100))
    with pytest.raises(ValueError, match="warp"):
        world_anonymize(y, SR, warp=3.0, f0_target_hz=150)


def test_pseudo_speakers_are_drawn_within_their_ranges():
    low = pseudo_speaker(0.0, 0.0, 0.0)
    high = pseudo_speaker(0.99, 0.999, 0.999)
    assert low["warp"] == pytest.approx(np.exp(-0.1)) and low["f0_target_hz"] == 90.0
    assert high["warp"] == pytest.approx(np.exp(0.2), rel=1e-3)
    assert high["f0_target_hz"] == pytest.approx(230.0, rel=1e-2)


def test_the_shared_copy_can_use_the_world_anonymiser(tmp_path):
    import json

    import soundfile as sf

    from psymodal.privacy import anonymize_study, pseudonym
    from psymodal.privacy.pseudonyms import demo_key

    bids = tmp_path / "bids"
    audio = bids / "sub-01" / "audio" / "sub-01_task-reading_audio.wav"
    audio.parent.mkdir(parents=True)
    (bids / "dataset_description.json").write_text(json.dumps({"Name": "x"}))
    y = _vowel(seconds=0.4)
    sf.write(audio, y, SR, subtype="FLOAT")
    settings = {"speech": {"method": "world"}}
    out = tmp_path / "copy"
    summary = anonymize_study(bids, out, demo_key(0), settings)
    assert summary["shared"] == {"anonymised recording": 1}
    sub = "sub-" + pseudonym("01", demo_key(0))
    z, sr = sf.read(out / sub / "audio" / f"{sub}_task-reading_audio.wav")
    assert sr == SR and len(z) == len(y) and abs(_f0(z) - _f0(y)) > 5
