"""MRI stage: atlases, confounds, parcellated time series, connectomes, QC.

Public API (imported lazily, so that ``import psymodal.mri`` does not load nilearn):

- :func:`find_runs`, :class:`RunInputs` (:mod:`.layout`)
- :func:`extract_run_timeseries` (:mod:`.timeseries`)
- :func:`connectivity_features` (:mod:`.connectome`)
- :func:`process_subject` (:mod:`.subject_runs`): fMRIPrep derivatives -> features + QC
- :func:`process_timeseries_subject`, :func:`read_timeseries`, :func:`read_abide_participants`,
  :func:`process_abide` (:mod:`.ready_timeseries`): ready parcellated time series
- :func:`process_raw_subject` (:mod:`.raw`): raw BIDS BOLD without fMRIPrep (no motion
  correction or registration)
- :func:`process_anat_subject` (:mod:`.anat`): regional GM volume + ICV proxy
- :class:`TangentSpace` (:mod:`.tangent`): tangent-space connectivity, sklearn transformer
- :func:`load_atlas`, :class:`Atlas` (:mod:`.atlas`)
- :class:`MRIInputError`, :class:`RunTooShortError` (:mod:`.errors`)
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Atlas": "atlas",
    "load_atlas": "atlas",
    "load_default_atlas": "atlas",
    "RunInputs": "layout",
    "find_runs": "layout",
    "extract_run_timeseries": "timeseries",
    "connectivity_features": "connectome",
    "process_subject": "subject_runs",
    "process_timeseries_subject": "ready_timeseries",
    "read_timeseries": "ready_timeseries",
    "read_abide_participants": "ready_timeseries",
    "process_abide": "ready_timeseries",
    "process_raw_subject": "raw",
    "process_anat_subject": "anat",
    "TangentSpace": "tangent",
    "MRIInputError": "errors",
    "RunTooShortError": "errors",
    "DEFAULTS": "settings",
    "fill_settings": "settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
