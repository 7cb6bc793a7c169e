"""Speed benchmark of the learning stage.

1. Nested CV of linear models on an ABIDE-sized study: 871 subjects x 6105 connectome features
   (111 regions), 20 sites, simulated. Target: < 2 min on 2 cores.
2. The torch fusion network on a demo-sized study (40 subjects, a 160-region connectome and 30
   speech features), 5-fold CV. Target: < 30 s.

Usage::

    python benchmarks/learn_speed.py [--jobs 2] [--models logistic svm] [--skip-torch]

Prints one line per case (seconds, ROC AUC) and exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time

from psymodal.learn import assemble, evaluate
from psymodal.learn.simulate import simulate_study
from psymodal.workflow.threads import limit_threads


def _time(label, data, settings, target):
    start = time.perf_counter()
    result = evaluate(data, settings)
    seconds = time.perf_counter() - start
    aucs = ", ".join(f"{r.model}/{r.modality}={r.roc_auc:.3f}" for r in result.metrics.itertuples())
    status = "ok" if seconds < target else "SLOW"
    print(f"{label}: {seconds:.1f} s (target {target} s, {status}); AUC {aucs}", flush=True)
    return seconds < target


def main(argv=None) -> int:
    """Run the benchmark cases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel outer folds (cores)")
    parser.add_argument("--models", nargs="+", default=["logistic", "svm"])
    parser.add_argument("--skip-torch", action="store_true")
    args = parser.parse_args(argv)
    _threads = limit_threads(1)  # noqa: F841 - one BLAS thread per process

    ok = True
    participants, features = simulate_study(
        871,
        n_features={"mri": 6105},
        signal={"mri": 0.25},
        n_informative=200,
        n_sites=20,
        site_shift=0.3,
        seed=0,
    )
    data = assemble(participants, features, None, {})
    for model in args.models:
        settings = {
            "models": [model],
            "cv": {"folds": 5, "nested": True, "inner_folds": 3, "n_jobs": args.jobs},
            "metrics": {"bootstrap": 200},
            "confound_baseline": True,
        }
        label = f"nested CV {model}, 871 x 6105, 5x3 folds, {args.jobs} jobs"
        ok &= _time(label, data, settings, 120)

    if not args.skip_torch:
        participants, features = simulate_study(
            40,
            n_features={"mri": 12720, "speech": 30},
            signal={"mri": 0.8, "speech": 0.8},
            n_informative=50,
            seed=1,
        )
        data = assemble(participants, features, None, {})
        settings = {
            "fusion": ["late", "early", "intermediate"],
            "cv": {"folds": 5, "n_jobs": 1},
            "metrics": {"bootstrap": 200},
        }
        ok &= _time("torch fusion + late/early, demo size 40 x 12750, 1 job", data, settings, 30)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
