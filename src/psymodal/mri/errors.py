"""Exceptions raised by the MRI stage.

Every message names the file, the subject when known, what is wrong and what to do, so that
a failed Snakemake job can be fixed from its log alone.
"""

from __future__ import annotations


class MRIInputError(ValueError):
    """An input file is missing, unreadable or inconsistent with the other inputs of a run."""


class RunTooShortError(MRIInputError):
    """Too few volumes remain after removing dummy scans and scrubbing to clean the run.

    ``process_subject`` turns this error into a QC exclusion instead of a failure.
    """


def describe(path, subject: str | None = None) -> str:
    """Prefix for error messages: ``'sub-01: /path/file.nii.gz'``."""
    who = f"sub-{subject}: " if subject else ""
    return f"{who}{path}"
