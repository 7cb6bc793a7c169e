"""Voice anonymisation by the McAdams coefficient (psymodal.speech.anonymize)."""

import math

import numpy as np
import pytest
import soundfile as sf

from _helpers import SR, pulse_vowel, with_silence
from psymodal.cli import main
from psymodal.speech import extract_features
from psymodal.speech.anonymize import anonymize_file, mcadams_anonymize
from psymodal.speech.audio import frame_signal
from psymodal.speech.egemaps import resonance_formants


def _warped_hz(f, alpha, sr=SR):
    return sr / (2 * math.pi) * (2 * math.pi * f / sr) ** alpha


def test_alpha_one_reconstructs_the_input():
    y = with_silence(pulse_vowel(0.5))
    assert np.max(np.abs(mcadams_anonymize(y, SR, alpha=1.0) - y)) < 1e-8
    silent = np.zeros(4000)
    assert np.array_equal(mcadams_anonymize(silent, SR), silent)


def test_formants_move_as_the_pole_angles_while_f0_and_timing_stay():
    vowel = pulse_vowel(0.6, f0=120.0, formants=(700, 1200, 2600))
    pause = np.zeros(int(0.5 * SR))
    y = with_silence(np.concatenate([vowel, pause, vowel]))
    z = mcadams_anonymize(y, SR, alpha=0.8)
    assert len(z) == len(y)
    before, after = extract_features(y, SR), extract_features(z, SR)
    # The vowel's resonances (eGeMAPS' formant columns reproduce openSMILE's LLD instead).
    rms = np.sqrt(np.mean(frame_signal(y, 320, 160) ** 2, axis=1))
    loud = np.flatnonzero(rms > 0.1 * rms.max())
    formants_before = np.nanmedian(resonance_formants(y, SR, 160, loud)[0], axis=0)
    formants_after = np.nanmedian(resonance_formants(z, SR, 160, loud)[0], axis=0)
    for k, f in [(0, 700.0), (1, 1200.0)]:
        assert formants_before[k] == pytest.approx(f, rel=0.1)
        assert formants_after[k] == pytest.approx(_warped_hz(f, 0.8), rel=0.1)
    # 2.6 kHz lies near 1 rad, where x ** 0.8 ~ x: F3 barely moves.
    assert formants_after[2] == pytest.approx(2600.0, rel=0.1)
    # The excitation is untouched: same F0 (psymodal's YIN prosody F0; eGeMAPS' F0 column
    # reproduces openSMILE's SHS, which reads this pulse train at a harmonic that depends on
    # the formants), same pauses.
    f0 = "f0_semitone_mean"
    assert after[f0] == pytest.approx(before[f0], abs=0.1)
    for name in ["pause_count", "pause_duration_mean_s", "pause_ratio"]:
        assert after[name] == pytest.approx(before[name], abs=0.02), name


def test_deterministic_and_bad_parameters_are_refused():
    y = with_silence(pulse_vowel(0.3))
    assert np.array_equal(mcadams_anonymize(y, SR), mcadams_anonymize(y, SR))
    with pytest.raises(ValueError, match="alpha"):
        mcadams_anonymize(y, SR, alpha=2.5)
    with pytest.raises(ValueError, match="NaN"):
        mcadams_anonymize(np.r_[y, np.nan], SR)
    with pytest.raises(ValueError, match="too short"):
        mcadams_anonymize(y, SR, frame_s=0.001)
    with pytest.raises(ValueError, match="mono"):
        mcadams_anonymize(np.zeros((2, 100)), SR)


def test_command_line_writes_new_files_and_never_the_original(tmp_path):
    source = tmp_path / "sub-01_task-reading_speech.flac"
    sf.write(source, with_silence(pulse_vowel(0.4)), SR, subtype="PCM_24")
    out = tmp_path / "shared"
    assert main(["anonymize-speech", str(source), "--out-dir", str(out)]) == 0
    first = (out / "sub-01_task-reading_speech.wav").read_bytes()
    assert main(["anonymize-speech", str(source), "--out-dir", str(out)]) == 0
    assert (out / "sub-01_task-reading_speech.wav").read_bytes() == first
    z, sr = sf.read(out / "sub-01_task-reading_speech.wav")
    assert sr == SR and len(z) == sf.info(source).frames
    assert not list(out.glob(".*tmp*"))
    with pytest.raises(ValueError, match="overwrite"):
        anonymize_file(source, source)
    args = ["anonymize-speech", str(source), "--out-dir", str(tmp_path), "--format", "flac"]
    assert main(args) == 2
