"""eGeMAPS reuses the basic set's MFCCs only when they are eGeMAPS' own (same filterbank)."""

from __future__ import annotations

import numpy as np

from _helpers import SR, pulse_vowel, with_silence
from psymodal.speech import extract_features
from psymodal.speech.egemaps import egemaps_names
from psymodal.speech.features import _default_cepstrum
from psymodal.speech.spectral import SPECTRAL_DEFAULTS


def test_egemaps_columns_do_not_depend_on_the_basic_cepstrum_settings():
    y = with_silence(np.concatenate([pulse_vowel(0.4, f0=140.0), pulse_vowel(0.4, f0=190.0)]))
    shared = extract_features(y, SR)  # default filterbank: eGeMAPS takes the basic MFCCs
    own = extract_features(y, SR, {"spectral": {"n_mels": 40, "n_mfcc": 3}})  # its own
    names = [n for n in egemaps_names() if "mfcc" in n]
    assert names
    np.testing.assert_allclose(
        [shared[n] for n in names], [own[n] for n in names], rtol=1e-12, equal_nan=True
    )
    assert shared["mfcc1_mean"] != own["mfcc1_mean"]  # the basic set did follow its settings


def test_default_cepstrum_needs_the_default_bank_and_four_coefficients():
    assert _default_cepstrum(dict(SPECTRAL_DEFAULTS))
    assert not _default_cepstrum({**SPECTRAL_DEFAULTS, "n_mfcc": 3})
    assert not _default_cepstrum({**SPECTRAL_DEFAULTS, "lifter": 0})
    assert not _default_cepstrum({**SPECTRAL_DEFAULTS, "fmax": 4000.0})
