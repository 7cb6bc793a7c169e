"""Learning defaults on real data: every documented option on the same ABIDE 100 folds.

Builds two feature tables from the DPARSF ROI time series of ``../shared/data/abide100`` (AAL
116): correlation connectomes (Fisher z, 6,670 edges; as ``benchmarks/learn_abide100.py``)
and Ledoit-Wolf covariances with their diagonal, projected to tangent space inside every
training fold (``learn.transforms: {fmri: tangent}``). All-zero (out-of-view) regions are
missing values. Then runs :func:`psymodal.learn.run` once per option; the outer folds depend
only on the labels and ``cv.seed``, so every option sees the same folds (paired figures).

Options: the fixed C of the former default (1.0), the fixed C of ``config/abide100.yaml``
(0.1), nested CV over the former grids and over the schema's grids, and for tangent space the
same with regions missing in a training subject dropped (``learn.tangent.missing_regions:
drop``), with C = 1 or the nested search. Every option states its region policy, so that a
row does not change meaning when a default does. The chosen C per outer fold is read from
``learn/hyperparameters.tsv``.

``defaults as shipped`` (``--features shipped``) is what a user gets: the covariance table
that ``mri.connectivity`` writes by default, under the modality name ``mri``, learnt with the
``learn`` section of ``psymodal.settings.resolve_config`` given only this benchmark's CV
design, confounds and bootstrap (so the same folds), i.e. the in-fold tangent transform,
region policy, model and C all come from the defaults.

Usage::

    python benchmarks/learn_defaults_abide100.py [--data ../shared/data/abide100]
        [--out /tmp/psymodal_defaults] [--repeats 3] [--features correlation tangent shipped]
        [--options ...] [--models logistic svm]

Prints one line per (features, option, model): pooled out-of-fold ROC AUC averaged over
repeats, its stratified-bootstrap 95% CI, and the median chosen C; then the ratio of each
option's AUC to C = 1 on the same features and to the former default (correlation features,
logistic, C = 1), all on the same folds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

from psymodal.io.tables import read_tsv, write_tsv
from psymodal.learn import run
from psymodal.mri.connectome import connectivity_features
from psymodal.settings import resolve_config
from psymodal.workflow.threads import limit_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_abide100 import DEFAULT_DATA, build_tables  # noqa: E402

#: The grids of the schema before nested CV became the default.
FORMER_GRIDS = {"logistic": {"grid": [0.01, 0.1, 1.0, 10.0]}, "svm": {"grid": [0.01, 0.1, 1.0]}}

COMPLETE = {"tangent": {"missing_regions": "complete"}}
DROP = {"tangent": {"missing_regions": "drop"}}
FIXED_C1 = {"cv": {"nested": False}, "logistic": {"C": 1.0}, "svm": {"C": 1.0}}

OPTIONS = {
    "C = 1 (former default)": {**FIXED_C1, **COMPLETE},
    "C = 0.1 (abide100.yaml)": {
        "cv": {"nested": False},
        "logistic": {"C": 0.1},
        "svm": {"C": 0.1},
        **COMPLETE,
    },
    "nested, former grids": {"cv": {"nested": True}, **FORMER_GRIDS, **COMPLETE},
    "nested, default grids": {"cv": {"nested": True}, **COMPLETE},
    "nested, drop missing regions": {"cv": {"nested": True}, **DROP},
    "C = 1, drop missing regions": {**FIXED_C1, **DROP},
}
#: The option run through the defaults (``--features shipped``).
SHIPPED = "defaults as shipped"


def covariance_table(data_dir: Path, participants: Path, out: Path) -> Path:
    """Ledoit-Wolf covariance with diagonal per subject; all-zero regions are missing."""
    ids = read_tsv(participants, dtype={"participant_id": str}).participant_id
    rows = []
    for pid in ids:
        signals = scipy.io.loadmat(data_dir / "Functional" / f"{pid[4:]}.mat")["ROISignals"]
        signals = signals.astype(float)
        signals[:, np.all(signals == signals[0], axis=0)] = np.nan
        frame = pd.DataFrame(signals, columns=[f"aal{k + 1:03d}" for k in range(signals.shape[1])])
        rows.append(connectivity_features(frame, "tangent"))
    table = pd.DataFrame(rows).reset_index(drop=True)
    table.insert(0, "participant_id", list(ids))
    return write_tsv(table, out / "fmri_covariance.tsv")


def main(argv=None) -> int:
    """Run every option on the same folds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/psymodal_defaults"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--features", nargs="+", default=["correlation", "tangent", "shipped"])
    parser.add_argument("--options", nargs="+", default=list(OPTIONS))
    parser.add_argument("--models", nargs="+", default=["logistic", "svm"])
    args = parser.parse_args(argv)
    if not (args.data / "phenotypic.csv").exists():
        print(f"no data at {args.data}; skipped")
        return 0
    _threads = limit_threads(1)  # noqa: F841
    participants, correlation = build_tables(args.data, args.out / "input")
    tables = {"correlation": (correlation, {})}
    if {"tangent", "shipped"} & set(args.features):
        covariance = covariance_table(args.data, participants, args.out / "input")
        tables["tangent"] = (covariance, {"transforms": {"fmri": "tangent"}})
        tables["shipped"] = (covariance, {})
    common = {
        "models": args.models,
        "confounds": ["age", "sex", "site", "mean_fd"],
        "metrics": {"bootstrap": 1000},
        "cv": {"folds": 10, "repeats": args.repeats, "n_jobs": args.jobs},
    }
    lines = []
    for kind in args.features:
        table, extra = tables[kind]
        options = [SHIPPED] if kind == "shipped" else args.options
        for option in options:
            if kind == "shipped":
                # the user's path: the workflow resolves the whole configuration, which
                # derives learn.transforms from mri.connectivity; the MRI table is "mri"
                modality = "mri"
                given = {k: v for k, v in common.items() if k != "models"}
                settings = resolve_config({"learn": given})["learn"]
            else:
                modality = "fmri"
                settings = {**common, **extra, **OPTIONS[option]}
                settings["cv"] = {**common["cv"], **OPTIONS[option].get("cv", {})}
            slug = "".join(ch if ch.isalnum() else "_" for ch in option.split(" (")[0])
            folder = args.out / kind / slug
            start = time.perf_counter()
            paths = run(participants, {modality: table}, None, folder, settings)
            seconds = time.perf_counter() - start
            metrics = read_tsv(paths["metrics"])
            hyper = read_tsv(paths["hyperparameters"])
            for row in metrics.itertuples():
                if row.modality != modality:
                    continue
                chosen = hyper.query("model == @row.model and chosen")
                c = f"{np.median(chosen.value):.0e}" if len(chosen) else "fixed"
                lines.append(
                    {
                        "features": kind,
                        "option": option,
                        "model": row.model,
                        "roc_auc": row.roc_auc,
                        "ci": f"[{row.roc_auc_ci_low:.3f}, {row.roc_auc_ci_high:.3f}]",
                        "median_C": c,
                        "seconds": seconds,
                    }
                )
                print(
                    f"{kind:12s} {option:34s} {row.model:9s} AUC {row.roc_auc:.3f} "
                    f"[{row.roc_auc_ci_low:.3f}, {row.roc_auc_ci_high:.3f}] C {c} "
                    f"({seconds:.0f} s)",
                    flush=True,
                )
    table = pd.DataFrame(lines)
    # baseline: the former default (correlation features, C = 1) on the same folds
    base = table[table.option == "C = 1 (former default)"].set_index(["features", "model"])
    if ("correlation", "logistic") in base.index:
        former = base.loc[("correlation", "logistic"), "roc_auc"]
        table["ratio_to_correlation_C1"] = table.roc_auc / former
    if len(base):
        table["ratio_to_C1"] = [
            r.roc_auc / base.loc[(r.features, r.model), "roc_auc"]
            if (r.features, r.model) in base.index
            else np.nan
            for r in table.itertuples()
        ]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
