"""Privacy-utility curve of differentially private training: AUC and membership attack vs epsilon.

For each epsilon in ``--epsilons`` psymodal's learning stage (:func:`psymodal.learn.run`) is run
with the non-private l2 logistic regression (the named baseline, fitted in the same run) and
``dp_logistic`` (:mod:`psymodal.privacy.dp`, (epsilon, 0)-DP per fitted model, rows clipped to
``sqrt(n_features)``, C = 1 for both), stratified 5-fold x ``--repeats``. Printed per model:
out-of-fold ROC AUC (repeat-averaged probabilities), the loss-threshold membership attack AUC
(mean over folds, :mod:`psymodal.learn.privacy`) and the model's own train AUC.

Studies:
- ABIDE 100 (``--abide``): Fisher-z AAL correlation connectomes, 6,670 edges (built as in
  ``benchmarks/learn_abide100.py``), autism vs control.
- the demo (``--demo-features``): the group feature tables of a finished demo run
  (``MODALITY=PATH`` pairs) and its participants.tsv (``--demo-participants``).

Usage::

    python benchmarks/privacy_dp.py --abide ../shared/data/abide100 \
        [--demo-participants P.tsv --demo-features mri=F.tsv speech=G.tsv] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from psymodal.io.tables import read_tsv
from psymodal.learn import run
from psymodal.workflow.threads import limit_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_abide100 import build_tables  # noqa: E402


def curve(name, participants, features, out: Path, epsilons, repeats) -> pd.DataFrame:
    rows = []
    for epsilon in epsilons:
        settings = {
            "models": ["logistic", "dp_logistic"],
            "dp_logistic": {"epsilon": epsilon},
            "cv": {"folds": 5, "repeats": repeats},
            "metrics": {"bootstrap": 0},
            "confound_baseline": False,
            "fusion": [],
        }
        start = time.perf_counter()
        paths = run(participants, features, None, out / f"epsilon-{epsilon:g}", settings)
        metrics = read_tsv(paths["metrics"]).set_index(["model", "modality"])
        attack = read_tsv(paths["membership_inference"]).set_index(["model", "modality"])
        for (model, modality), row in metrics.iterrows():
            if (model, modality) not in attack.index:
                continue
            a = attack.loc[(model, modality)]
            rows.append(
                {
                    "study": name,
                    "modality": modality,
                    "model": model,
                    "epsilon": epsilon if model == "dp_logistic" else float("inf"),
                    "roc_auc": row["roc_auc"],
                    "attack_auc": a["attack_auc_mean"],
                    "train_auc": a["train_auc_mean"],
                }
            )
        print(f"  {name} epsilon {epsilon:g}: {time.perf_counter() - start:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    # the non-private baseline is fitted at every epsilon with identical settings: keep one
    return table.drop_duplicates(["study", "modality", "model", "epsilon"]).reset_index(drop=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abide", type=Path)
    parser.add_argument("--demo-participants", type=Path)
    parser.add_argument("--demo-features", nargs="*", default=[])
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 3.0, 8.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/psymodal_privacy_dp"))
    args = parser.parse_args(argv)
    _threads = limit_threads(1)  # noqa: F841
    tables = []
    if args.abide is not None:
        participants, connectomes = build_tables(args.abide, args.out / "abide_input")
        tables.append(
            curve("ABIDE 100", participants, {"mri": connectomes}, args.out / "abide",
                  args.epsilons, args.repeats)
        )  # fmt: skip
    if args.demo_participants is not None:
        features = dict(item.split("=", 1) for item in args.demo_features)
        tables.append(
            curve("demo", args.demo_participants, features, args.out / "demo", args.epsilons,
                  args.repeats)
        )  # fmt: skip
    table = pd.concat(tables, ignore_index=True)
    print(table.to_markdown(index=False, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
