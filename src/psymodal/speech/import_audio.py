"""A folder of recordings plus a label table -> a BIDS dataset the speech stage reads.

Many speech studies start as ``recordings/`` and a spreadsheet (file name, participant,
diagnosis, age...). :func:`import_audio` writes, without touching the originals:

- ``sub-<label>/audio/sub-<label>_task-<task>[_run-<n>]_audio.<ext>``: links to the
  recordings (or copies), several recordings of a participant as runs in table order;
- ``participants.tsv``: one row per participant with the table's other columns (the values
  of a participant's first row);
- ``dataset_description.json``.

Participant identifiers become BIDS labels: ``sub-`` and the identifier's letters and digits
(``P-001`` -> ``sub-P001``); two identifiers giving the same label are refused, as are
recordings that are missing or outside the recordings folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from psymodal.workflow.participants import is_bids_label, read_table, write_table

__all__ = ["bids_label_for", "import_audio"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def bids_label_for(identifier: str) -> str:
    """``sub-<letters and digits of identifier>`` (``sub-`` itself is kept, not doubled)."""
    label = re.sub(r"[^A-Za-z0-9]", "", str(identifier).removeprefix("sub-"))
    if not is_bids_label(label):
        raise ValueError(f"participant {identifier!r} has no letter or digit for a BIDS label")
    return f"sub-{label}"


def import_audio(
    recordings: str | os.PathLike,
    table: str | os.PathLike,
    out_dir: str | os.PathLike,
    file_column: str = "file",
    id_column: str = "participant_id",
    task: str = "speech",
    copy: bool = False,
) -> Path:
    """Write a BIDS dataset of recordings listed in a label table.

    Parameters
    ----------
    recordings : path
        The folder of recordings (``.wav``, ``.flac``, ``.ogg``).
    table : path
        A CSV/TSV with one row per recording: ``file_column`` (its path inside
        ``recordings``), ``id_column`` (the participant) and the labels (``diagnosis``...).
    out_dir : path
        The BIDS dataset to write (``dataset.bids_dir``).
    file_column, id_column : str
        Column names in ``table``.
    task : str
        The BIDS task label of the recordings (``speech.task``).
    copy : bool
        Copy the recordings instead of linking to them.

    Returns
    -------
    Path
        The participants.tsv written.

    Raises
    ------
    ValueError
        Naming every missing recording, a missing column, or colliding identifiers.
    """
    recordings, out_dir = Path(recordings).resolve(), Path(out_dir)
    if not is_bids_label(task):
        raise ValueError(f"task {task!r} is not a BIDS label (letters and digits only)")
    columns, rows = read_table(table)
    for column in (file_column, id_column):
        if column not in columns:
            raise ValueError(f"{table} has no {column!r} column (columns: {', '.join(columns)})")
    participants: dict[str, dict] = {}
    origin: dict[str, str] = {}
    files: dict[str, list[Path]] = {}
    problems = []
    for position, row in enumerate(rows, start=2):
        identifier, name = row[id_column], row[file_column]
        if identifier is None or name is None:
            missing = id_column if identifier is None else file_column
            problems.append(f"line {position}: no {missing}")
            continue
        label = bids_label_for(identifier)
        if origin.setdefault(label, identifier) != identifier:
            raise ValueError(
                f"{table}, line {position}: {identifier!r} and {origin[label]!r} both give "
                f"{label}; rename one of them."
            )
        path = (recordings / name).resolve()
        if not path.is_relative_to(recordings):
            problems.append(f"line {position}: {name} is outside {recordings}")
        elif not path.is_file() or path.suffix.lower() not in AUDIO_SUFFIXES:
            problems.append(f"line {position}: {name} is not a .wav/.flac/.ogg file here")
        files.setdefault(label, []).append(path)
        participants.setdefault(label, {**row, "participant_id": label})
    if problems:
        raise ValueError(f"{table}: " + "; ".join(problems))
    for label, paths in files.items():
        folder = out_dir / label / "audio"
        folder.mkdir(parents=True, exist_ok=True)
        for k, source in enumerate(paths, start=1):
            run = f"_run-{k}" if len(paths) > 1 else ""
            target = folder / f"{label}_task-{task}{run}_audio{source.suffix.lower()}"
            target.unlink(missing_ok=True)
            if copy:
                shutil.copy2(source, target)
            else:
                target.symlink_to(source)
    kept = ["participant_id"] + [c for c in columns if c not in (id_column, file_column)]
    description = {"Name": f"recordings imported from {Path(table).name}", "BIDSVersion": "1.10.0"}
    (out_dir / "dataset_description.json").write_text(json.dumps(description, indent=2) + "\n")
    rows = [participants[k] for k in sorted(participants)]
    return write_table(kept, rows, out_dir / "participants.tsv")
