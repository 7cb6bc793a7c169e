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


def test_permutations_in_two_processes_give_the_same_bytes(tmp_path):
    """learn.cv.n_jobs null takes joblib's context (the workflow's threads); the null
    distribution, the metrics and run_info.json do not depend on the process count."""
    from joblib import parallel_config

    rng = np.random.default_rng(2)
    ids = [f"sub-{i:02d}" for i in range(1, 25)]
    y = np.array([0, 1] * 12)
    pd.DataFrame({"participant_id": ids, "diagnosis": np.where(y, "patient", "control")}).to_csv(
        tmp_path / "participants.tsv", sep="\t", index=False
    )
    pd.DataFrame({"participant_id": ids, "x": y + rng.normal(0, 1.0, 24)}).to_csv(
        tmp_path / "f.tsv", sep="\t", index=False
    )
    written = {}
    for n_jobs in (1, 2):
        with parallel_config(n_jobs=n_jobs):
            written[n_jobs] = run(
                tmp_path / "participants.tsv",
                {"mri": tmp_path / "f.tsv"},
                None,
                tmp_path / f"learn-{n_jobs}",
                {"permutation": {"n": 5}, "metrics": {"bootstrap": 10}},
            )
    for name in ("permutation_null", "metrics", "predictions", "run_info"):
        assert written[1][name].read_bytes() == written[2][name].read_bytes(), name
