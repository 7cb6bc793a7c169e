"""Embedded demo study: a deterministic synthetic BIDS dataset with planted effects.

>>> from psymodal.demo import DemoSpec, plan, generate
>>> plan(DemoSpec.small()).shape
(12, 7)

See ``ground_truth/README.md`` in a generated study for every planted effect.
"""

from psymodal.demo.spec import DemoSpec, plan

__all__ = ["DemoSpec", "generate", "plan"]


def __getattr__(name):
    # the generator pulls in scipy.signal and nibabel: jobs that only plan the study (every
    # workflow job resolves its settings through it) must not pay for that at start-up
    if name == "generate":
        from psymodal.demo.study import generate

        return generate
    raise AttributeError(f"module 'psymodal.demo' has no attribute {name!r}")
