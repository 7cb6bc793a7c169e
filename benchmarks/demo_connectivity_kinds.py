"""The demo's planted connectivity effect under each connectivity kind, on the same time series.

Reads a finished workflow run of the demo study (``--run``: the folder given to ``snakemake
--directory``), takes the region time series its MRI stage wrote
(``results/mri-*/sub-*/func/*_timeseries.tsv``; its QC table decides who is included), and
computes from them both the correlation features (``mri.connectivity: correlation``, the
former default) and the covariances of the default ``tangent``. Each table is learnt with
the ``learn`` section the workflow would use (``resolve_config`` of the run's config with that
connectivity kind: tangent brings the in-fold tangent transform), MRI only, explanations on,
no label permutations. Same subjects and folds for both kinds.

Usage::

    python benchmarks/demo_connectivity_kinds.py --run /tmp/demo_run [--out /tmp/demo_kinds]

Prints per kind the MRI ROC AUC with its bootstrap CI and the ranks (by |fold-mean
coefficient|, ``learn/importance.tsv``) of the planted edges of
``resources/demo/ground_truth/connectivity.tsv``; the baseline is correlation.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from psymodal.io.tables import read_tsv, write_tsv
from psymodal.learn import run
from psymodal.mri.connectome import connectivity_features
from psymodal.settings import resolve_config
from psymodal.workflow.threads import limit_threads

KINDS = ("correlation", "tangent")


def feature_table(run_dir: Path, kind: str) -> pd.DataFrame:
    """One row per subject with a time series file: its ``kind`` connectivity features."""
    rows, ids = [], []
    for path in sorted(run_dir.glob("results/mri-*/sub-*/func/*_timeseries.tsv")):
        series = read_tsv(path)
        rows.append(connectivity_features(series, kind))
        ids.append(path.name.split("_", 1)[0])
    table = pd.DataFrame(rows).reset_index(drop=True)
    table.insert(0, "participant_id", ids)
    return table


def planted_ranks(importance: Path, planted: set[str]) -> list[int]:
    """Ranks (1 = largest |coefficient|) of the planted edges among the MRI features."""
    table = read_tsv(importance)
    mri = table[(table.level == "feature") & (table.modality == "mri")].dropna(subset=["coef_mean"])
    rank = mri.coef_mean.abs().rank(ascending=False, method="first")
    edges = mri.feature.str.split("__", n=1).str[1]
    return sorted(int(r) for r in rank[edges.isin(planted)])


def main(argv=None) -> int:
    """Learn from both kinds and print the AUCs and the planted edges' ranks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("/tmp/psymodal_demo_kinds"))
    args = parser.parse_args(argv)
    _threads = limit_threads(1)  # noqa: F841
    config = yaml.safe_load((args.run / "config" / "config.yaml").read_text())
    demo = args.run / "resources" / "demo"
    planted = set(read_tsv(demo / "ground_truth" / "connectivity.tsv").edge)
    for kind in KINDS:
        config["mri"]["connectivity"] = kind
        config["learn"].pop("transforms", None)  # derived from the kind, as for a user
        learn = resolve_config(config)["learn"]
        learn.update({"permutation": {**learn["permutation"], "n": 0}, "added_value": False})
        learn["explain"]["enabled"] = True
        features = write_tsv(feature_table(args.run, kind), args.out / kind / "mri_features.tsv")
        start = time.perf_counter()
        qc = {"mri": next(args.run.glob("results/mri-*/group/mri_qc.tsv"))}
        paths = run(demo / "participants.tsv", {"mri": features}, qc, args.out / kind, learn)
        seconds = time.perf_counter() - start
        row = read_tsv(paths["metrics"]).set_index("modality").loc["mri"]
        ranks = planted_ranks(paths["importance"], planted)
        print(
            f"{kind:12s} transforms {learn['transforms']}  mri AUC {row.roc_auc:.3f} "
            f"[{row.roc_auc_ci_low:.3f}, {row.roc_auc_ci_high:.3f}] (n {int(row.n_subjects)})  "
            f"planted ranks {ranks}  in top 20: {sum(r <= 20 for r in ranks)} of "
            f"{len(planted)}  ({seconds:.0f} s)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
