"""The learning stage records what its in-fold imputer fills (e.g. pause-free clips)."""

from __future__ import annotations

import numpy as np

from psymodal.learn import assemble
from psymodal.learn.imputation import IMPUTER, imputation_record
from psymodal.learn.simulate import simulate_study


def test_missing_values_are_counted_per_feature_among_subjects_with_the_modality():
    participants, features = simulate_study(24, n_features={"speech": 4}, n_sites=2, seed=0)
    speech = features["speech"].copy()
    first, second = speech.columns[1], speech.columns[2]
    # Three pause-free clips (no pause duration) and one subject without speech at all.
    speech.loc[speech.index[:3], first] = np.nan
    speech = speech.drop(index=speech.index[-1])
    data = assemble(participants, {"speech": speech}, None, {"confounds": []})
    record = imputation_record(data)
    assert record["imputer"] == IMPUTER
    # Only the feature with gaps is listed; the subject without speech is not counted.
    assert record["missing_values"] == {"speech": {first: 3}}
    assert second not in record["missing_values"]["speech"]
