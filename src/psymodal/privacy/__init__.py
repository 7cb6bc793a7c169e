"""Privacy as a stage: a shareable copy of a study, the attacks that measure it, private training.

- :mod:`~psymodal.privacy.pseudonyms`: keyed pseudonyms (HMAC-SHA256) and binned ages.
- :mod:`~psymodal.privacy.metadata`: NIfTI header scrubbing, JSON sidecars and participants
  table by allow-list.
- :mod:`~psymodal.privacy.deface`: quickshear defacing of T1w images from a brain mask.
- :mod:`~psymodal.privacy.study`: :func:`anonymize_study`, the shareable BIDS copy.
- :mod:`~psymodal.privacy.phi`: a scanner that looks for planted identifiers in every output byte.
- :mod:`~psymodal.privacy.attacks`: re-identification (connectome fingerprinting) and attribute
  inference from released features.
- :mod:`~psymodal.privacy.dp`: differentially private logistic regression (learn model
  ``dp_logistic``).
"""

from psymodal.privacy.pseudonyms import bin_age, pseudonym, read_key
from psymodal.privacy.study import anonymize_study

__all__ = ["anonymize_study", "bin_age", "pseudonym", "read_key"]
