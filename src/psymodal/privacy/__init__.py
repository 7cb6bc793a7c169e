"""Privacy as a stage: a shareable copy of a study, the attacks that measure it, private training.

- :mod:`~psymodal.privacy.pseudonyms`: keyed pseudonyms (HMAC-SHA256) and binned ages.
- :mod:`~psymodal.privacy.metadata`: NIfTI header scrubbing, JSON sidecars and participants
  table by allow-list.
- :mod:`~psymodal.privacy.deface`: quickshear defacing of T1w images from a brain mask.
- :mod:`~psymodal.privacy.transcripts`: transcripts with numbers, dates and listed names
  replaced by placeholders.
- :mod:`~psymodal.privacy.study`: :func:`anonymize_study`, the shareable BIDS copy.
- :mod:`~psymodal.privacy.phi`: a scanner that looks for planted identifiers in every output byte.
- :mod:`~psymodal.privacy.attacks`: re-identification (connectome fingerprinting, speech-feature
  linkage) and attribute inference from released features.
- :mod:`~psymodal.privacy.dp`: differentially private logistic regression (learn model
  ``dp_logistic``).
"""

from importlib import import_module

__all__ = ["anonymize_study", "bin_age", "pseudonym", "read_key"]

#: Public name -> module. Imported on first use (PEP 562), so that the workflow's rules can
#: read ``psymodal.privacy.paths`` while the DAG is planned without importing pandas.
_WHERE = {
    "anonymize_study": "psymodal.privacy.study",
    "bin_age": "psymodal.privacy.pseudonyms",
    "pseudonym": "psymodal.privacy.pseudonyms",
    "read_key": "psymodal.privacy.pseudonyms",
}


def __getattr__(name):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'psymodal.privacy' has no attribute {name!r}")
