"""Thread limits, so that results and speed do not depend on the machine's core count."""

from __future__ import annotations

import os
import sys


def limit_threads(n_threads: int = 1):
    """Limit BLAS/OpenMP threads in this process (small matrices run faster single-threaded).

    Returns the threadpoolctl controller; keep a reference for the limit to last.
    """
    from threadpoolctl import get_cached_controller

    os.environ.setdefault("OMP_NUM_THREADS", str(n_threads))
    # the cached controller: a fresh one (threadpool_limits) rescans the loaded libraries,
    # ~6 ms per call, and the learning stage calls this once per fold
    controller = get_cached_controller().limit(limits=n_threads)
    # importing torch costs seconds: only configure it when the caller already uses it
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n_threads)
    return controller
