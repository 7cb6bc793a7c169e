"""In-fold tangent-space CV: psymodal's TangentFeatures against nilearn inside a Pipeline.

Both sides classify the same subjects with the same folds (stratified 10-fold, shuffled,
seed 0) and the same model (StandardScaler + l2 LogisticRegression, C=1):

``nilearn``   ``Pipeline([ConnectivityMeasure(kind="tangent", vectorize=True,
              discard_diagonal=True), StandardScaler(), LogisticRegression()])`` on the
              subjects' time series: the usual way to keep the tangent reference in-fold.
``psymodal``  the learning stage's way: each subject's Ledoit-Wolf covariance computed once
              (as the MRI stage writes it, ``mri.connectivity: tangent``, timed here), then
              ``Pipeline([TangentFeatures(), StandardScaler(), LogisticRegression()])`` on
              those rows.

The time series are the ABIDE 100 subjects of ``/work/shared/data/abide100`` (116 AAL regions,
z-scored as psymodal's MRI stage does), or ``--synthetic N`` generated subjects. Prints each
side's time per repeat (alternating), the median ratio, and the difference of the pooled
out-of-fold ROC AUC and of the mean per-fold AUC (target: ratio >= 5 at equal AUC to 1e-6).
CPU seconds of this process (one BLAS thread) are printed beside wall seconds: on a shared,
loaded machine they vary far less than wall time.

Usage::

    python benchmarks/tangent_cv_speed.py [--repeats 3] [--synthetic 300] [--folds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

ABIDE = Path("/work/shared/data/abide100")


def load_series(synthetic: int | None, seed: int = 0):
    """Z-scored time series (list of arrays) and labels."""
    from psymodal.mri.covariance import zscore_sample

    if synthetic is None and ABIDE.is_dir():
        from psymodal.mri.ready_timeseries import read_abide_participants, read_timeseries

        table = read_abide_participants(ABIDE / "phenotypic.csv", ABIDE / "Functional")
        series = []
        for pid in table["participant_id"]:
            raw = read_timeseries(ABIDE / "Functional" / f"{pid[4:]}.mat", "mat").to_numpy()
            series.append(raw)
        keep = np.all([s.std(axis=0) > 0 for s in series], axis=0)  # regions seen by all
        series = [zscore_sample(s[:, keep]) for s in series]
        return series, (table["diagnosis"] == "patient").to_numpy().astype(int), "abide100"
    n = synthetic or 300
    rng = np.random.default_rng(seed)
    p = 111
    y = rng.integers(0, 2, n)
    base = rng.normal(size=(8, p))
    effect = rng.normal(size=(2, p)) * 0.5
    series = []
    for k in range(n):
        t = int(rng.integers(78, 317))
        mix = np.vstack([base, effect * y[k]])
        series.append(zscore_sample(rng.normal(size=(t, 10)) @ mix + rng.normal(size=(t, p))))
    return series, y, f"synthetic{n}"


def nilearn_cv(series, y, folds):
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.empty(len(series), dtype=object)
    X[:] = series
    scores = np.zeros(len(y))
    for train, test in folds:
        model = Pipeline(
            [
                (
                    "tangent",
                    ConnectivityMeasure(kind="tangent", vectorize=True, discard_diagonal=True),
                ),
                ("scale", StandardScaler()),
                ("clf", LogisticRegression(max_iter=1000)),
            ]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model.fit(list(X[train]), y[train])
            scores[test] = model.decision_function(list(X[test]))
    return scores


def psymodal_cv(series, y, folds):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from psymodal.learn.transformers import TangentFeatures
    from psymodal.mri.connectome import connectivity_features
    from psymodal.mri.tangent import clear_fit_caches

    clear_fit_caches()  # each repeat fits every fold afresh: no references from the last one

    regions = [f"r{k:03d}" for k in range(series[0].shape[1])]
    rows = [connectivity_features(pd.DataFrame(s, columns=regions), "tangent") for s in series]
    edges = list(rows[0].index)
    X = np.vstack([r.to_numpy() for r in rows])
    scores = np.zeros(len(y))
    for train, test in folds:
        model = Pipeline(
            [
                ("tangent", TangentFeatures(edges=edges)),
                ("scale", StandardScaler()),
                ("clf", LogisticRegression(max_iter=1000)),
            ]
        )
        model.fit(X[train], y[train])
        scores[test] = model.decision_function(X[test])
    return scores


def aucs(scores, y, folds):
    from sklearn.metrics import roc_auc_score

    per_fold = [roc_auc_score(y[test], scores[test]) for _, test in folds]
    return roc_auc_score(y, scores), float(np.mean(per_fold))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--synthetic", type=int, default=None, help="N generated subjects")
    args = parser.parse_args()
    from sklearn.model_selection import StratifiedKFold

    from psymodal.workflow.threads import limit_threads

    _threads = limit_threads(1)  # noqa: F841 - one BLAS thread, as in the learning stage
    series, y, name = load_series(args.synthetic)
    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(series, y))
    times = {"psymodal": [], "nilearn": []}
    cpu = {"psymodal": [], "nilearn": []}
    scores = {}
    for repeat in range(args.repeats):
        order = ["psymodal", "nilearn"] if repeat % 2 == 0 else ["nilearn", "psymodal"]
        for side in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            scores[side] = (psymodal_cv if side == "psymodal" else nilearn_cv)(series, y, folds)
            times[side].append(time.perf_counter() - start)
            cpu[side].append(time.process_time() - start_cpu)
            print(
                f"repeat {repeat + 1} {side:9s} {times[side][-1]:8.2f} s wall"
                f" {cpu[side][-1]:8.2f} s CPU",
                flush=True,
            )
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    auc = {k: aucs(v, y, folds) for k, v in scores.items()}
    print(
        json.dumps(
            {
                "data": name,
                "subjects": len(y),
                "regions": series[0].shape[1],
                "folds": args.folds,
                "median_s": med,
                "speedup_nilearn_over_psymodal": med["nilearn"] / med["psymodal"],
                "median_cpu_s": med_cpu,
                "cpu_speedup_nilearn_over_psymodal": med_cpu["nilearn"] / med_cpu["psymodal"],
                "pooled_auc": {k: v[0] for k, v in auc.items()},
                "mean_fold_auc": {k: v[1] for k, v in auc.items()},
                "pooled_auc_difference": abs(auc["psymodal"][0] - auc["nilearn"][0]),
                "mean_fold_auc_difference": abs(auc["psymodal"][1] - auc["nilearn"][1]),
                "load_average": os.getloadavg(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
