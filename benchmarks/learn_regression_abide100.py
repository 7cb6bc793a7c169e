"""Regression on real labels: age and full-scale IQ from ABIDE 100 correlation connectomes.

Builds the correlation connectomes of ``benchmarks/learn_abide100.py`` (Fisher z, 6,670 AAL
edges) and runs :func:`psymodal.learn.run` with ``learn.task: regression`` for each target,
with its defaults (nested CV over the ridge and linear-SVR grids, permutations within site).
The target is left out of the confounds. Every row of a target shares the same folds, so the
model, the confound-only ridge and the mean predictor are compared on the same subjects.

Usage::

    python benchmarks/learn_regression_abide100.py [--data ../shared/data/abide100]
        [--out /tmp/psymodal_regression] [--repeats 3] [--permutations 0] [--models ridge svr]

Prints, per target and analysis: Pearson r, R², MAE (95% bootstrap CIs) and the MAE ratio to
the mean predictor measured in the same run (below 1: better than predicting the mean).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from psymodal.io.tables import read_tsv, write_tsv
from psymodal.learn import run
from psymodal.workflow.threads import limit_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_abide100 import DEFAULT_DATA, build_tables  # noqa: E402

#: Target column in participants.tsv -> confounds (never the target itself).
TARGETS = {"age": ["sex", "site", "mean_fd"], "fiq": ["age", "sex", "site", "mean_fd"]}


def main(argv=None) -> int:
    """Run the regressions and print their metrics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/psymodal_regression"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--permutations", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=["ridge", "svr"])
    args = parser.parse_args(argv)
    if not (args.data / "phenotypic.csv").exists():
        print(f"no data at {args.data}; skipped")
        return 0
    _threads = limit_threads(1)  # noqa: F841
    participants, features = build_tables(args.data, args.out / "input")
    table = read_tsv(participants, dtype={"participant_id": str})
    pheno = pd.read_csv(args.data / "phenotypic.csv").set_index("SUB_ID")
    fiq = pheno.loc[[int(p[4:]) for p in table.participant_id], "FIQ"].to_numpy()
    table["fiq"] = pd.Series(fiq).where(pd.Series(fiq) > 0)  # -9999: not measured
    participants = write_tsv(table, args.out / "input" / "participants_scores.tsv")
    for target, confounds in TARGETS.items():
        settings = {
            "task": "regression",
            "label_column": target,
            "models": args.models,
            "confounds": confounds,
            "metrics": {"bootstrap": 1000},
            "permutation": {"n": args.permutations},
            "cv": {"folds": 10, "repeats": args.repeats, "n_jobs": args.jobs},
        }
        start = time.perf_counter()
        paths = run(participants, {"fmri": features}, None, args.out / target, settings)
        seconds = time.perf_counter() - start
        metrics = read_tsv(paths["metrics"])
        mean_mae = metrics.set_index("modality").loc["mean_predictor", "mae"]
        print(f"== {target} ({seconds:.0f} s, {int(metrics.n_subjects.max())} subjects)")
        for row in metrics.itertuples():
            print(
                f"{row.model:6s} {row.modality:15s} r {row.pearson_r:+.3f} "
                f"[{row.pearson_r_ci_low:+.3f}, {row.pearson_r_ci_high:+.3f}]  "
                f"R2 {row.r2:+.3f} [{row.r2_ci_low:+.3f}, {row.r2_ci_high:+.3f}]  "
                f"MAE {row.mae:.2f} [{row.mae_ci_low:.2f}, {row.mae_ci_high:.2f}]  "
                f"MAE/mean-predictor {row.mae / mean_mae:.3f}  p {row.p_value:.3g}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
