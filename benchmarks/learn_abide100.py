"""Validation of the learning stage on real data: 100 ABIDE I subjects (autism vs control).

Reads the DPARSF ROI time series (AAL, 116 regions) from ``../shared/data/abide100``, builds
one correlation connectome per subject (Fisher z, upper triangle: 6670 features; a subject-level
measure, so nothing is fitted across subjects outside the CV), writes participants.tsv and the
feature table to a scratch folder (never into the repository) and runs
:func:`psymodal.learn.run` under several CV schemes.

Usage::

    python benchmarks/learn_abide100.py [--data ../shared/data/abide100] [--out /tmp/abide100]
        [--repeats 5] [--permutations 0]

Prints one metrics line per (scheme, model, modality). Sites: PITT 29/27, OLIN 19/15 and OHSU
10/0 (autism/control): OHSU has one class, so under leave-site-out its fold has no within-site
AUC and the pooled AUC mixes site offsets with diagnosis.
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
from psymodal.workflow.threads import limit_threads

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "abide100"


def connectome(signals: np.ndarray) -> np.ndarray:
    """Fisher-z correlation upper triangle; constant (empty) regions give missing values."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(signals.T)
    upper = r[np.triu_indices_from(r, k=1)]
    return np.arctanh(np.clip(upper, -0.999999, 0.999999))


def build_tables(data_dir: Path, out: Path) -> tuple[Path, Path]:
    """Write participants.tsv and fmri_features.tsv for the subjects with a .mat file."""
    files = sorted((data_dir / "Functional").glob("*.mat"))
    ids = [int(f.stem) for f in files]
    pheno = pd.read_csv(data_dir / "phenotypic.csv").set_index("SUB_ID").loc[ids]
    participants = pd.DataFrame(
        {
            "participant_id": [f"sub-{i}" for i in ids],
            # In this copy DX_GROUP is 1 = autism, 0 = typical control.
            "diagnosis": np.where(pheno.DX_GROUP.to_numpy() == 1, "patient", "control"),
            "age": pheno.AGE_AT_SCAN.to_numpy(),
            "sex": np.where(pheno.SEX.to_numpy() == 1, "M", "F"),
            "site": pheno.SITE_ID.to_numpy(),
            "mean_fd": pheno.func_mean_fd.to_numpy(),
        }
    )
    rows = [connectome(scipy.io.loadmat(f)["ROISignals"].astype(float)) for f in files]
    n_roi = scipy.io.loadmat(files[0])["ROISignals"].shape[1]
    iu = np.triu_indices(n_roi, k=1)
    columns = [f"aal{a + 1:03d}_aal{b + 1:03d}" for a, b in zip(*iu, strict=True)]
    features = pd.DataFrame(np.vstack(rows), columns=columns)
    features.insert(0, "participant_id", participants.participant_id)
    return (
        write_tsv(participants, out / "participants.tsv"),
        write_tsv(features, out / "fmri_features.tsv"),
    )


def main(argv=None) -> int:
    """Run the validation schemes and print their metrics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/psymodal_abide100"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--permutations", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if not (args.data / "phenotypic.csv").exists():
        print(f"no data at {args.data}; skipped")
        return 0
    _threads = limit_threads(1)  # noqa: F841
    participants, features = build_tables(args.data, args.out / "input")
    common = {
        "models": ["logistic", "svm"],
        "confounds": ["age", "sex", "site", "mean_fd"],
        "metrics": {"bootstrap": 1000},
        "permutation": {"n": args.permutations},
        "logistic": {"C": 0.1},
    }
    schemes = {
        "stratified10": {"cv": {"folds": 10, "repeats": args.repeats, "n_jobs": args.jobs}},
        "stratified10_nested": {
            "cv": {"folds": 10, "repeats": args.repeats, "nested": True, "n_jobs": args.jobs}
        },
        "site_stratified10": {
            "cv": {"folds": 10, "repeats": args.repeats, "strategy": "site_stratified"}
        },
        "leave_site_out": {"cv": {"strategy": "leave_site_out", "n_jobs": args.jobs}},
        "leave_site_out_combat": {
            "cv": {"strategy": "leave_site_out", "n_jobs": args.jobs},
            "harmonize": "combat",
        },
    }
    columns = [
        "model", "modality", "n_subjects", "roc_auc", "roc_auc_ci_low", "roc_auc_ci_high",
        "roc_auc_sd", "roc_auc_fold_mean", "balanced_accuracy", "p_value",
    ]  # fmt: skip
    for name, scheme in schemes.items():
        start = time.perf_counter()
        paths = run(participants, {"fmri": features}, None, args.out / name, {**common, **scheme})
        seconds = time.perf_counter() - start
        metrics = read_tsv(paths["metrics"])[columns]
        print(f"== {name} ({seconds:.0f} s) -> {paths['metrics']}")
        print(metrics.to_string(index=False, float_format=lambda v: f"{v:.3f}"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
