"""The speech stage reads a recording below ``speech.sample_rate`` at its own rate, as the
library analyses it (the published openSMILE agreement is measured on the library's path)."""

import numpy as np
import scipy.signal
import soundfile as sf

from _helpers import pulse_vowel, with_silence
from psymodal.io.tables import read_tsv
from psymodal.speech import extract_features, load_audio, process_subject, read_audio


def test_an_8_khz_recording_is_analysed_at_8_khz_as_the_library_does(tmp_path):
    y8 = scipy.signal.resample_poly(with_silence(pulse_vowel(1.2)), 1, 2)
    path = tmp_path / "sub-01_task-reading_audio.wav"
    sf.write(path, y8, 8000)
    assert read_audio(path, 16000, upsample=False).sr == 8000
    assert read_audio(path, 16000).sr == 16000  # the library reader still resamples as asked
    process_subject("01", [path], tmp_path / "f.tsv", tmp_path / "q.tsv", None)
    stage = read_tsv(tmp_path / "f.tsv").iloc[0].drop("participant_id")
    y, sr = load_audio(path, sample_rate=None)
    library = extract_features(y, sr)
    names = [k for k in library if not k.startswith("qc_") and k in stage.index]
    assert len(names) > 50
    ours = np.array([float(stage[k]) for k in names])
    theirs = np.array([library[k] for k in names], dtype=float)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12, equal_nan=True)
