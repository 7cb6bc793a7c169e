"""Embedded demo study: a deterministic synthetic BIDS dataset with planted effects.

>>> from psymodal.demo import DemoSpec, plan, generate
>>> plan(DemoSpec.small()).shape
(12, 7)

See ``ground_truth/README.md`` in a generated study for every planted effect.
"""

from psymodal.demo.spec import DemoSpec, plan
from psymodal.demo.study import generate

__all__ = ["DemoSpec", "generate", "plan"]
