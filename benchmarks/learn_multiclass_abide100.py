"""Multiclass on real labels: developmental stage (child / adolescent / adult) from ABIDE 100.

ABIDE 100 has no three-valued diagnosis (``DSM_IV_TR`` is 0 or 1 here, missing at OHSU), so
the target is the age group at scan: child (< 13 years), adolescent (13-17), adult (>= 18),
25 / 38 / 37 subjects spread over the three sites (not the site itself, which the confound
baseline knows). Age is carried by the connectome (``learn_regression_abide100.py``: r 0.58),
so a multiclass model has something to find; the groups are ordered, so the confusion matrix
also shows whether errors fall between neighbours.

Features: the covariance table that the default ``mri.connectivity`` (tangent) writes, learnt
with the default ``learn`` section (in-fold tangent transform, regions out of view dropped,
logistic C = 1) given ``learn.task: multiclass``, the CV design, confounds (sex, site, mean
FD; not age) and bootstrap; so the confound-only baseline runs on the same folds.

Usage::

    python benchmarks/learn_multiclass_abide100.py [--data ../shared/data/abide100]
        [--out /tmp/psymodal_multiclass] [--repeats 1]

Prints per analysis the macro one-vs-rest ROC AUC and balanced accuracy (95% bootstrap CIs,
class-stratified), the ratio of the model's balanced accuracy to the confound baseline's and
to chance (1/3), and the confusion matrix of the connectome model (pooled out of fold).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.tables import read_tsv, write_tsv
from psymodal.learn import run
from psymodal.learn.metrics import confusion_matrix
from psymodal.settings import resolve_config
from psymodal.workflow.threads import limit_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_abide100 import DEFAULT_DATA, build_tables  # noqa: E402
from learn_defaults_abide100 import covariance_table  # noqa: E402

#: Age group boundaries in years (left-closed): child, adolescent, adult.
BINS = [0, 13, 18, 200]
GROUPS = ["1_child", "2_adolescent", "3_adult"]  # sorted = age order (class codes)


def main(argv=None) -> int:
    """Run the multiclass model and print its metrics and confusion matrix."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/psymodal_multiclass"))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    if not (args.data / "phenotypic.csv").exists():
        print(f"no data at {args.data}; skipped")
        return 0
    _threads = limit_threads(1)  # noqa: F841
    participants, _ = build_tables(args.data, args.out / "input")
    covariance = covariance_table(args.data, participants, args.out / "input")
    table = read_tsv(participants, dtype={"participant_id": str})
    table["age_group"] = pd.cut(table.age, BINS, right=False, labels=GROUPS).astype(str)
    participants = write_tsv(table, args.out / "input" / "participants_groups.tsv")
    given = {
        "task": "multiclass",
        "label_column": "age_group",
        "confounds": ["sex", "site", "mean_fd"],
        "metrics": {"bootstrap": 1000},
        "cv": {"folds": 10, "repeats": args.repeats, "n_jobs": args.jobs},
    }
    settings = resolve_config({"learn": given})["learn"]
    start = time.perf_counter()
    paths = run(participants, {"mri": covariance}, None, args.out / "learn", settings)
    seconds = time.perf_counter() - start
    metrics = read_tsv(paths["metrics"]).set_index("modality")
    counts = table.age_group.value_counts().sort_index().to_dict()
    print(f"age groups {counts}; {seconds:.0f} s")
    for modality, row in metrics.iterrows():
        print(
            f"{row.model:9s} {modality:10s} macro AUC {row.roc_auc:.3f} "
            f"[{row.roc_auc_ci_low:.3f}, {row.roc_auc_ci_high:.3f}]  balanced accuracy "
            f"{row.balanced_accuracy:.3f} [{row.balanced_accuracy_ci_low:.3f}, "
            f"{row.balanced_accuracy_ci_high:.3f}]",
            flush=True,
        )
    model, baseline = metrics.loc["mri"], metrics.loc["confounds"]
    print(
        f"balanced accuracy ratio to the confound baseline "
        f"{model.balanced_accuracy / baseline.balanced_accuracy:.3f}, to chance (1/3) "
        f"{model.balanced_accuracy * 3:.3f}"
    )
    predictions = read_tsv(paths["predictions"])
    mri = predictions[predictions.modality == "mri"]
    columns = [f"probability_{k}" for k in range(len(GROUPS))]
    averaged = mri.groupby("participant_id").agg(
        y_true=("y_true", "first"), **{c: (c, "mean") for c in columns}
    )
    counts = confusion_matrix(averaged.y_true, averaged[columns].to_numpy(), len(GROUPS))
    print("confusion matrix of the mri model (rows: true, columns: predicted):")
    print(pd.DataFrame(counts, index=GROUPS, columns=GROUPS).to_string())
    print(f"errors between neighbouring groups: {np.trace(counts, 1) + np.trace(counts, -1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
