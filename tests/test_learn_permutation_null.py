import numpy as np
import pandas as pd

from psymodal.io.tables import read_tsv
from psymodal.learn.pipeline import run
from psymodal.report.figures import null_figure


def test_permutation_null_is_written_and_drawn(tmp_path):
    rng = np.random.default_rng(1)
    ids = [f"sub-{i:02d}" for i in range(1, 31)]
    y = np.array([0, 1] * 15)
    participants = pd.DataFrame(
        {"participant_id": ids, "diagnosis": np.where(y, "patient", "control")}
    )
    features = pd.DataFrame({"participant_id": ids, "x": y + rng.normal(0, 0.5, 30)})
    participants.to_csv(tmp_path / "participants.tsv", sep="\t", index=False)
    features.to_csv(tmp_path / "f.tsv", sep="\t", index=False)
    paths = run(
        tmp_path / "participants.tsv",
        {"mri": tmp_path / "f.tsv"},
        None,
        tmp_path / "learn",
        {"permutation": {"n": 9}, "confound_baseline": False, "metrics": {"bootstrap": 20}},
    )
    null = read_tsv(paths["permutation_null"])
    assert len(null) == 9 and null["roc_auc"].between(0, 1).all()
    metrics = read_tsv(paths["metrics"])
    assert metrics.loc[0, "p_value"] == 0.1  # signal stronger than all 9 permutations
    figure = null_figure(null, metrics, tmp_path / "null.png")
    assert figure.stat().st_size > 1000
