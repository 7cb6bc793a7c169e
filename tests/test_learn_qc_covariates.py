import numpy as np
import pandas as pd

from psymodal.learn.assemble import assemble
from psymodal.learn.settings import resolve


def test_qc_motion_becomes_a_confound(tmp_path):
    rng = np.random.default_rng(0)
    ids = [f"sub-{i:02d}" for i in range(1, 21)]
    participants = pd.DataFrame(
        {
            "participant_id": ids,
            "diagnosis": ["patient", "control"] * 10,
            "age": rng.normal(30, 5, 20),
        }
    )
    features = pd.DataFrame({"participant_id": ids, "x": rng.normal(size=20)})
    fd = rng.uniform(0.1, 0.3, 20)
    qc = pd.DataFrame({"participant_id": ids, "included": True, "reason": "", "mean_fd": fd})
    data = assemble(
        participants, {"mri": features}, {"mri": qc}, resolve({"confounds": ["age", "mean_fd"]})
    )
    assert "confound__mean_fd" in data.covariates
    np.testing.assert_allclose(data.X["confound__mean_fd"].to_numpy(), fd)
