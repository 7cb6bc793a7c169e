"""Validation on real data: ABIDE I ROI time series (abide100, AAL 116, DPABI .mat).

Runs psymodal's ready-time-series path (``process_abide``) and compares, with the same
repeated stratified cross-validation, a correlation (Fisher z) connectome and a tangent-space
connectome (``TangentSpace`` fitted inside each training fold), both with an l2 logistic
regression. Also reports leave-one-site-out results on the two sites with both groups.

Usage::

    python benchmarks/mri_abide.py [--root /work/shared/data/abide100] [--out DIR]

Published reference (871 ABIDE subjects, not this subset): mean ROC AUC 0.67-0.72 for
tangent + l2 linear models (Dadi et al. 2019); small subsets give wide intervals.
"""

from __future__ import annotations

import argparse
import glob
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from psymodal.io.tables import read_tsv
from psymodal.mri.ready_timeseries import process_abide
from psymodal.mri.tangent import TangentSpace


def _cv_auc(make_model, X, y, splits) -> tuple[float, float]:
    aucs = []
    for train, test in splits:
        model = make_model().fit(_take(X, train), y[train])
        aucs.append(roc_auc_score(y[test], model.predict_proba(_take(X, test))[:, 1]))
    return float(np.mean(aucs)), float(np.std(aucs))


def _take(X, idx):
    return [X[i] for i in idx] if isinstance(X, list) else X[idx]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("/work/shared/data/abide100"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="psymodal-abide-"))
    t = time.perf_counter()
    participants = process_abide(args.root, out)
    print(f"processed {len(participants)} subjects in {time.perf_counter() - t:.1f} s -> {out}")
    qc = pd.concat([read_tsv(p) for p in sorted(glob.glob(f"{out}/sub-*/func/*_desc-qc.tsv"))])
    qc = qc.set_index("participant_id")
    keep = qc.index[qc["included"].astype(bool)]
    print(
        f"included {len(keep)}/{len(qc)}; excluded: "
        f"{qc.loc[~qc['included'].astype(bool), 'reason'].to_dict()}; subjects with missing "
        f"regions: {(qc['n_missing_regions'] > 0).sum()}"
    )
    table = participants.set_index("participant_id").loc[keep]
    y = (table["diagnosis"] == "patient").to_numpy(int)
    feats = np.vstack(
        [
            read_tsv(glob.glob(f"{out}/{pid}/func/*_features.tsv")[0])
            .drop(columns="participant_id")
            .to_numpy()[0]
            for pid in keep
        ]
    )
    series = [read_tsv(glob.glob(f"{out}/{pid}/func/*_timeseries.tsv")[0]) for pid in keep]
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=args.repeats, random_state=0)
    splits = list(cv.split(feats, y))

    def correlation_model():
        return make_pipeline(
            SimpleImputer(), StandardScaler(), LogisticRegression(C=0.05, max_iter=2000)
        )

    def tangent_model():
        return make_pipeline(
            TangentSpace(), StandardScaler(), LogisticRegression(C=0.05, max_iter=2000)
        )

    t = time.perf_counter()
    corr = _cv_auc(correlation_model, feats, y, splits)
    t_corr = time.perf_counter() - t
    t = time.perf_counter()
    tang = _cv_auc(tangent_model, series, y, splits)
    t_tang = time.perf_counter() - t
    print(f"5-fold x {args.repeats} stratified CV, n={len(y)} ({y.sum()} autism):")
    print(f"  correlation + l2 logistic: ROC AUC {corr[0]:.3f} +/- {corr[1]:.3f} ({t_corr:.1f} s)")
    print(f"  tangent     + l2 logistic: ROC AUC {tang[0]:.3f} +/- {tang[1]:.3f} ({t_tang:.1f} s)")
    sites = table["site"].to_numpy()
    for test_site in ("PITT", "OLIN"):
        train = np.flatnonzero(sites != test_site)
        test = np.flatnonzero(sites == test_site)
        auc_c = _cv_auc(correlation_model, feats, y, [(train, test)])[0]
        auc_t = _cv_auc(tangent_model, series, y, [(train, test)])[0]
        print(f"  leave-site-out test={test_site}: correlation {auc_c:.3f}, tangent {auc_t:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
