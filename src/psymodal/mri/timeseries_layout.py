"""Where a study's ready region time series are: a file pattern with placeholders and globs.

``dataset.timeseries_pattern`` names each subject's file(s) inside ``dataset.timeseries_dir``,
in the layout the data were published in, with no symlinks or hand-written tables:

``{SUB_ID}/{FILE_ID}_rois_{atlas}.1D``
    C-PAC / Preprocessed Connectomes Project per-subject folders (ABIDE phenotype columns).
``{participant_id}/**/{participant_id}_*_timeseries.tsv``
    XCP-D / fMRIPrep-style derivatives (every matching file is one run of the subject).
``ROISignals_{participant_id}.mat`` or ``{label}.mat``
    DPABI / DPARSF outputs.

Placeholders are filled per subject from:

- ``label`` (the participant id without ``sub-``) and ``participant_id``;
- ``atlas``: the ``mri.timeseries.atlas_name`` setting;
- any column of the participants (phenotype) table, by its header (``SUB_ID``, ``FILE_ID``,
  ``SITE_ID``...), as the text the table holds.

Outside the placeholders, ``*``, ``?``, ``[...]`` and ``**`` are globs; the values put in the
placeholders are matched literally, and a value that could leave the folder (holding ``/``,
``\\`` or being ``.``/``..``) matches nothing. Every matching regular file is one run of the
subject, in sorted order.

This module imports no numerical library: the workflow plans a study with it.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from psymodal.io.files import is_regular_file

__all__ = [
    "check_pattern",
    "find_timeseries_files",
    "pattern_fields",
    "searched",
    "subject_fields",
]

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\- ]*")
#: Placeholders that do not come from the participants table.
BUILTIN_FIELDS = ("label", "participant_id", "atlas")


def pattern_fields(pattern: str) -> list[str]:
    """The placeholder names of ``pattern``, in order of first appearance.

    Raises
    ------
    ValueError
        For an empty or malformed placeholder, an absolute pattern or one with ``..``.
    """
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise ValueError(
            f"dataset.timeseries_pattern {pattern!r} must be a path inside "
            "dataset.timeseries_dir (relative, without '..')."
        )
    names: list[str] = []
    for name in _PLACEHOLDER.findall(pattern):
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"dataset.timeseries_pattern {pattern!r}: {{{name}}} is not a placeholder; "
                "use {label}, {participant_id}, {atlas} or a column of the participants table."
            )
        if name not in names:
            names.append(name)
    if "{" in _PLACEHOLDER.sub("", pattern) or "}" in _PLACEHOLDER.sub("", pattern):
        raise ValueError(f"dataset.timeseries_pattern {pattern!r} has an unmatched brace.")
    return names


def check_pattern(
    pattern: str, columns: Iterable[str], atlas: str | None, source: object = "the table"
) -> None:
    """Refuse a pattern whose placeholders cannot be filled, naming those that can.

    Raises
    ------
    ValueError
        Naming the unknown placeholders, the table's columns and the settings involved.
    """
    columns = list(columns)
    fields = pattern_fields(pattern)
    if "atlas" in fields and not atlas:
        raise ValueError(
            f"dataset.timeseries_pattern {pattern!r} uses {{atlas}}: set "
            "mri.timeseries.atlas_name to the atlas of the file names (e.g. ho, aal, cc200)."
        )
    unknown = [f for f in fields if f not in BUILTIN_FIELDS and f not in columns]
    if unknown:
        raise ValueError(
            f"dataset.timeseries_pattern {pattern!r}: "
            f"{', '.join('{' + f + '}' for f in unknown)} is neither label, participant_id, "
            f"atlas nor a column of {source} (columns: {', '.join(columns)})."
        )


def _text(value) -> str | None:
    """A table value as the text a file name holds (numbers read as floats lose '.0')."""
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer():
            return str(int(value))
    text = str(value).strip()
    return None if text in ("", "n/a") else text


def subject_fields(
    participant_id: str, row: Mapping | None = None, atlas: str | None = None
) -> dict[str, str]:
    """The placeholder values of one subject: its table row, label, participant_id, atlas."""
    fields = {str(k): t for k, v in (row or {}).items() if (t := _text(v)) is not None}
    fields["participant_id"] = participant_id
    fields["label"] = participant_id.removeprefix("sub-")
    if atlas:
        fields["atlas"] = str(atlas)
    return fields


def _safe(value: str) -> bool:
    return value not in ("", ".", "..") and "/" not in value and "\\" not in value


def _expand(pattern: str, fields: Mapping[str, str], escape) -> str | None:
    missing = False

    def fill(match: re.Match) -> str:
        nonlocal missing
        value = fields.get(match.group(1))
        if value is None or not _safe(value):
            missing = True
            return ""
        return escape(value)

    expanded = _PLACEHOLDER.sub(fill, pattern)
    return None if missing else expanded


def searched(root: str | Path, pattern: str, fields: Mapping[str, str]) -> str:
    """The path (or glob) looked for, for messages: the pattern with this subject's values."""
    expanded = _expand(pattern, fields, lambda v: v)
    if expanded is None:
        missing = [f for f in pattern_fields(pattern) if not _safe(fields.get(f) or "")]
        return f"{Path(root) / pattern} (no usable value for {', '.join(missing)})"
    return str(Path(root) / expanded)


def find_timeseries_files(root: str | Path, pattern: str, fields: Mapping[str, str]) -> list[Path]:
    """The regular files of one subject that ``pattern`` matches under ``root``, sorted.

    Parameters
    ----------
    root : path
        ``dataset.timeseries_dir``.
    pattern : str
        ``dataset.timeseries_pattern`` (placeholders and globs, see the module docstring).
    fields : mapping
        The subject's placeholder values (:func:`subject_fields`).

    Returns
    -------
    list of Path
        Empty when nothing matches or a placeholder has no usable value.
    """
    root = Path(root)
    literal = _PLACEHOLDER.sub("", pattern)
    if not glob.has_magic(literal):
        expanded = _expand(pattern, fields, lambda v: v)
        if expanded is None:
            return []
        path = root / expanded
        return [path] if is_regular_file(path) else []
    expanded = _expand(pattern, fields, glob.escape)
    if expanded is None:
        return []
    return sorted(p for p in root.glob(expanded) if is_regular_file(p))
