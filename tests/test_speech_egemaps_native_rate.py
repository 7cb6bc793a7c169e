"""eGeMAPS' 20 ms spectra of a file above 16 kHz are taken at the file's own rate.

openSMILE frames a 22.05 kHz file as 441-sample Hamming frames in a 512-point FFT (43.07 Hz
bins); psymodal analyses it at 16 kHz, but reads loudness, MFCC, alpha ratio, Hammarberg
index and flux from the file's own samples on openSMILE's frames (the resampler removes
7.6-8 kHz, the top mel band's content).
"""

import numpy as np
import pytest

from psymodal.speech import extract_features
from psymodal.speech.audio import resample
from psymodal.speech.egemaps import _native_grid_spectrum, _native_spectrum

SR = 22050


def _voice_with_high_tone(seconds: float = 1.5) -> np.ndarray:
    """A gliding harmonic voice plus a 7.8 kHz tone (inside 8 kHz, outside the resampler's
    passband)."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(0)
    phase = 2 * np.pi * np.cumsum(140 + 20 * np.sin(2 * np.pi * 1.3 * t)) / SR
    y = sum(np.sin(k * phase) / k for k in range(1, 30))
    y = y * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t) ** 2)
    y = y + 0.3 * np.sin(2 * np.pi * 7800 * t) + 0.01 * rng.standard_normal(len(t))
    return 0.1 * y / np.abs(y).max()


def test_native_spectrum_is_opensmiles_frame_at_the_files_rate():
    y = np.random.default_rng(1).standard_normal(SR // 2)
    power, freqs, step = _native_spectrum(y, SR)
    # 441 samples in a 512-point FFT every 221 samples (10 ms rounded half up), as many as fit;
    # bins up to the first at or above 8 kHz
    assert step == 221 and len(power) == (len(y) - 441) // 221 + 1
    assert freqs[1] == pytest.approx(SR / 512)
    assert freqs[-2] < 8000.0 <= freqs[-1]
    for i in (0, 1, 17, len(power) - 1):
        frame = y[i * 221 : i * 221 + 441] * np.hamming(441)
        expected = np.abs(np.fft.rfft(frame, 512)[: len(freqs)]) ** 2
        np.testing.assert_allclose(power[i], expected, rtol=2e-4, atol=1e-4 * expected.max())
    # the frames that meet the 10 ms grid's voicing are centred on it instead
    grid, grid_freqs = _native_grid_spectrum(y, SR, 16000, 160, 40)
    np.testing.assert_array_equal(grid_freqs, freqs)
    for k in (1, 2, 17, 33):
        centre = int(round(k * 160 * SR / 16000))
        frame = y[centre - 220 : centre + 221] * np.hamming(441)
        expected = np.abs(np.fft.rfft(frame, 512)[: len(freqs)]) ** 2
        np.testing.assert_allclose(grid[k], expected, rtol=2e-4, atol=1e-4 * expected.max())


def test_egemaps_spectral_functionals_follow_the_native_rate():
    y = _voice_with_high_tone()
    ours = extract_features(y, SR)  # resampled to 16 kHz, spectra from the 22.05 kHz samples
    native = extract_features(y, SR, {"sample_rate": None})  # everything at 22.05 kHz
    at_16k = extract_features(resample(y, SR, 16000), 16000, native_sr=SR)  # no native samples
    for name in ("mfcc1_sma3_amean", "mfcc2_sma3_amean", "mfcc3_sma3_amean", "mfcc4_sma3_amean"):
        # stored: new 30.75 / -4.22 / 13.09 / 11.69, native 30.78 / -4.25 / 13.10 / 11.69,
        # 16 kHz spectra 34.84 / -10.64 / 21.79 / 1.12
        assert ours[name] == pytest.approx(native[name], abs=0.1)
        assert abs(at_16k[name] - native[name]) > 3.0
    assert ours["loudness_sma3_amean"] == pytest.approx(native["loudness_sma3_amean"], rel=0.01)
    # openSMILE's frames step 221 samples, the native-rate grid 220: flux 0.0712 vs 0.0698
    assert ours["spectralFlux_sma3_amean"] == pytest.approx(
        native["spectralFlux_sma3_amean"], rel=0.04
    )
    # the band slopes too (their weights follow the bin spacing, and the power the rate's
    # scale): 0.0721 / -0.0113, native 0.0714 / -0.0113, 16 kHz spectra 0.0434 / -0.0074;
    # the voiced frames are openSMILE's (221-sample steps), the native grid's step 220
    for name in ("slopeV0-500_sma3nz_amean", "slopeV500-1500_sma3nz_amean"):
        assert ours[name] == pytest.approx(native[name], rel=0.02)
        assert abs(at_16k[name] - native[name]) > 0.2 * abs(native[name])


def test_the_speech_stage_reads_the_files_own_samples_as_the_library_does(tmp_path):
    import soundfile as sf

    from psymodal.io.tables import read_tsv
    from psymodal.speech import load_audio, process_subject, read_audio

    y44 = resample(_voice_with_high_tone(1.0), SR, 44100)
    path = tmp_path / "sub-01_task-reading_audio.wav"
    sf.write(path, y44, 44100, subtype="FLOAT")
    audio = read_audio(path, 16000, upsample=False)
    assert audio.sr == 16000 and audio.native_y is not None and len(audio.native_y) == len(y44)
    assert read_audio(path, None).native_y is None  # nothing resampled, nothing kept
    process_subject("01", [path], tmp_path / "f.tsv", tmp_path / "q.tsv", None)
    stage = read_tsv(tmp_path / "f.tsv").iloc[0]
    y, sr = load_audio(path, sample_rate=None)
    library = extract_features(y, sr)
    at_16k = extract_features(audio.y, 16000, native_sr=44100)  # without the native samples
    names = [k for k in library if k.endswith(("_sma3_amean", "_sma3_stddevNorm"))]
    assert len(names) == 12  # loudness, flux, MFCC 1-4 (sma3, every frame)
    for name in names:
        assert float(stage[name]) == pytest.approx(library[name], rel=1e-9, abs=1e-12)
    assert any(abs(at_16k[k] - library[k]) > 0.1 for k in names if k.startswith("mfcc"))
