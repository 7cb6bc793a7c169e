"""Control of threads and seeds, so that results do not depend on the machine's core count."""

from __future__ import annotations

import os
import random
import sys

import numpy as np


def limit_threads(n_threads: int = 1):
    """Limit BLAS/OpenMP threads in this process (small matrices run faster single-threaded).

    Returns the threadpoolctl controller; keep a reference for the limit to last.
    """
    from threadpoolctl import threadpool_limits

    os.environ.setdefault("OMP_NUM_THREADS", str(n_threads))
    controller = threadpool_limits(limits=n_threads)
    # importing torch costs seconds: only configure it when the caller already uses it
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n_threads)
    return controller


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch, and return a NumPy generator for explicit use."""
    random.seed(seed)
    # legacy global state still seeds third-party code that calls np.random directly
    np.random.seed(seed % (2**32))  # noqa: NPY002
    try:
        import torch

        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
    except ImportError:
        pass
    return np.random.default_rng(seed)
