"""Metadata that may leave the hospital: NIfTI headers, JSON sidecars, the participants table.

Everything works by allow-list: a field is shared because it is named as safe, never because it
was not recognised as identifying.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from psymodal.privacy.pseudonyms import bin_age

__all__ = ["NIFTI_TEXT_FIELDS", "filter_sidecar", "scrub_nifti", "shareable_participants"]

#: Free-text fields of a NIfTI-1 header (NIfTI-2 has all but ``db_name``).
NIFTI_TEXT_FIELDS = ("descrip", "db_name", "aux_file", "intent_name")

# The only string values kept in a sidecar: BIDS's axis codes.
_DIRECTIONS = frozenset({"i", "j", "k", "i-", "j-", "k-"})
_DIRECTION_KEYS = frozenset({"PhaseEncodingDirection", "SliceEncodingDirection"})


def scrub_nifti(img):
    """A copy of a NIfTI image with empty text fields and no header extensions.

    Extensions can carry whole DICOM headers (names, dates of birth); the text fields are where
    converters write scanner, protocol and sometimes patient information.

    Parameters
    ----------
    img : nibabel.Nifti1Image or nibabel.Nifti2Image

    Returns
    -------
    Same class, same data object and affine.
    """
    header = img.header.copy()
    for field in NIFTI_TEXT_FIELDS:
        if field in header:
            header[field] = b""
    header.extensions.clear()
    return img.__class__(img.dataobj, img.affine, header)


def write_scrubbed_nifti(img, target: str | os.PathLike) -> Path:
    """Save :func:`scrub_nifti` of ``img`` atomically (gzip without a time stamp)."""
    import nibabel as nib

    from psymodal.io.tables import atomic_path

    with atomic_path(target) as tmp:
        nib.save(scrub_nifti(img), tmp)
    return Path(target)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, str)


def _safe_value(key: str, value):
    """``value`` if its type is one a key of the allow-list may share, else ``None``."""
    if key in _DIRECTION_KEYS:
        return value if isinstance(value, str) and value in _DIRECTIONS else None
    if _is_number(value):  # bool is a Real too
        return value
    if isinstance(value, list) and value and all(_is_number(v) for v in value):
        return value
    return None


def filter_sidecar(
    sidecar: Mapping, keys: Sequence[str], task: str | None = None
) -> dict[str, object]:
    """The shareable part of a BIDS JSON sidecar.

    Parameters
    ----------
    sidecar : mapping
        The original sidecar.
    keys : sequence of str
        Keys that may be kept (``anonymize.sidecar_keys``); a kept value must be a number, a
        boolean, a list of numbers, or for the encoding directions one of i, j, k, i-, j-, k-:
        a string planted in a numeric field is dropped, not copied.
    task : str, optional
        The file's task label: ``TaskName`` is rewritten from it (BIDS requires the key for
        task data; the original value is free text).

    Returns
    -------
    dict
    """
    out = {}
    for key in keys:
        if key in sidecar:
            value = _safe_value(key, sidecar[key])
            if value is not None:
                out[key] = value
    if task is not None:
        out["TaskName"] = task
    return out


def shareable_participants(
    table: pd.DataFrame,
    pseudonyms: Mapping[str, str],
    columns: Sequence[str],
    age_column: str | None,
    age_bin_years: int,
    age_top_code: int,
) -> pd.DataFrame:
    """participants.tsv for the shared copy: pseudonymous ids, allowed columns, binned ages.

    Parameters
    ----------
    table : pandas.DataFrame
        The original participants table (strings), with ``participant_id``.
    pseudonyms : mapping
        Original ``participant_id`` -> shared ``participant_id``; rows not in it are dropped.
    columns : sequence of str
        The allow-list (``anonymize.participants_columns``); listed columns missing from the
        table are skipped.
    age_column, age_bin_years, age_top_code
        The age column and its binning (:func:`psymodal.privacy.pseudonyms.bin_age`).

    Returns
    -------
    pandas.DataFrame
        Sorted by the new ``participant_id``, so the row order reveals nothing of the original.
    """
    rows = table[table["participant_id"].isin(list(pseudonyms))]
    out = pd.DataFrame({"participant_id": rows["participant_id"].map(pseudonyms)})
    for column in columns:
        if column == "participant_id" or column not in rows:
            continue
        values = rows[column]
        if column == age_column:
            values = values.map(lambda v: bin_age(v, age_bin_years, age_top_code))
        out[column] = values.fillna("n/a").astype(str)
    return out.sort_values("participant_id").reset_index(drop=True)


def participants_sidecar(columns: Sequence[str], age_column: str | None, age_bin_years: int):
    """participants.json of the shared copy, written from scratch (the original's descriptions
    are free text)."""
    out = {"participant_id": {"Description": "Keyed pseudonym (HMAC-SHA256) of the participant."}}
    for column in columns:
        if column == "participant_id":
            continue
        if column == age_column:
            out[column] = {"Description": f"Age binned to {age_bin_years} years.", "Units": "year"}
        else:
            out[column] = {"Description": f"{column}, as in the original study."}
    return out
