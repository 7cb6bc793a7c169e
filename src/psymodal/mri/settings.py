"""Defaults of the ``mri`` section of the configuration.

Every stage function fills missing keys from :data:`DEFAULTS` with :func:`fill_settings`, so
a config that only names what it changes is complete.
"""

from __future__ import annotations

import copy

from .confounds import DEFAULT_CONFOUNDS
from .qc import DEFAULT_QC

DEFAULTS = {
    "task": "rest",
    "space": "MNI152NLin2009cAsym",
    # fMRIPrep resolution entity (res-2 -> 2) when several output resolutions exist
    "res": None,
    "atlas": {"name": "dosenbach160", "radius_mm": 6},
    "confounds": DEFAULT_CONFOUNDS,
    # signal cleaning in NiftiLabelsMasker (nilearn.signal.clean)
    "standardize": "zscore_sample",
    "detrend": True,
    "high_pass": 0.01,
    "low_pass": 0.1,
    "smoothing_fwhm": None,
    # correlation | partial correlation | covariance | precision | tangent. tangent writes each
    # subject's covariance incl. the diagonal (regionA__regionA); the tangent projection is
    # fitted per training fold in the learning stage: set learn.transforms: {mri: tangent}
    "connectivity": "correlation",
    "qc": DEFAULT_QC,
    # mean: average the Fisher-z connectivity of the included runs (each run cleaned and
    # standardised on its own); concatenate: stack the runs' standardised time series and
    # compute one connectivity matrix (weights runs by their number of kept volumes)
    "combine_runs": "mean",
    # one PNG per run: mean EPI with atlas outlines, region carpet plot, FD trace
    "qc_figure": True,
}

_NESTED = ("atlas", "confounds", "qc")


def fill_settings(settings: dict | None) -> dict:
    """Return a deep copy of ``settings`` with every missing key set to its default.

    Nested sections (``atlas``, ``confounds``, ``qc``) are merged key by key; for
    ``confounds`` only the keys the user gave are kept as overrides of the chosen preset
    (see :mod:`psymodal.mri.confounds`), so the defaults are not merged into it.
    """
    settings = copy.deepcopy(dict(settings or {}))
    out = copy.deepcopy(DEFAULTS)
    for key, value in settings.items():
        if key in _NESTED and isinstance(value, dict):
            if key == "confounds":
                out[key] = dict(value)
            else:
                out[key] = {**out[key], **value}
        else:
            out[key] = value
    if "confounds" not in settings:
        out["confounds"] = {"strategy": "simple"}
    return out
