"""Feature-level sharing: the derived feature tables of a study, under keyed pseudonyms.

Sharing derived features instead of images and audio is the safer default of the issue's
privacy design (``snakemake share``): no face, no voice, no free text. It is not anonymous:
connectomes fingerprint their subject and speech features link recordings of one speaker.
What this module removes is the direct identifiers: participant ids become the same keyed
pseudonyms as in the shareable copy (:func:`psymodal.privacy.pseudonyms.pseudonym`),
participants.tsv keeps the allow-listed columns with binned ages
(:func:`psymodal.privacy.metadata.shareable_participants`), and feature tables keep numeric
columns only (QC tables, whose reasons name files, are not shared).

``linkage_risk.json`` states, per shared table, what it still reveals: the attacks measured on
this study's own data (:mod:`psymodal.privacy.linkage_risk`, passed in as ``measured``) and the
published benchmark figure with its ``benchmarks/RESULTS.md`` section and command
(:mod:`psymodal.privacy.published`), each labelled as such.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.tables import read_tsv, write_json, write_tsv
from psymodal.privacy.metadata import participants_sidecar, shareable_participants
from psymodal.privacy.pseudonyms import pseudonym
from psymodal.privacy.published import published_entry
from psymodal.settings import resolve_section

__all__ = ["linkage_risk", "share_features"]

#: The attack that measures each shared table's linkage risk (the published benchmark of the
#: same name in :mod:`psymodal.privacy.published`).
ATTACKS = {"mri": "connectome_fingerprinting", "speech": "speech_feature_linkage"}


#: A modality name as it may appear in a shared file name.
MODALITY_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _numeric_columns(table: pd.DataFrame) -> list[str]:
    """Feature columns whose every value is a number or missing (text could carry a name)."""
    keep = []
    for column in table.columns:
        if column == "participant_id":
            continue
        values = pd.to_numeric(table[column], errors="coerce")
        if values.notna().sum() == table[column].notna().sum():
            keep.append(column)
    return keep


def share_features(
    participants: str | os.PathLike,
    feature_tables: Mapping[str, str | os.PathLike],
    out_dir: str | os.PathLike,
    key: bytes,
    settings: Mapping | None = None,
    measured: Mapping[str, Mapping] | None = None,
) -> dict[str, Path]:
    """Write pseudonymised copies of a study's group feature tables.

    Parameters
    ----------
    participants : path-like
        The study's participants.tsv (``participant_id`` as ``sub-<label>``).
    feature_tables : mapping of str to path-like
        Modality -> its group feature table (``<modality>_features.tsv``).
    out_dir : path-like
        Folder of the shared tables; it must not be the study's own folder.
    key : bytes
        The pseudonym key (:func:`psymodal.privacy.pseudonyms.read_key`): the same key gives
        the same pseudonyms as ``snakemake anonymize``.
    settings : mapping, optional
        ``anonymize`` settings (pseudonym length, participants columns, age binning).
    measured : mapping, optional
        Modality -> the linkage attacks measured on this study
        (:func:`psymodal.privacy.linkage_risk.connectome_fingerprinting`,
        :func:`~psymodal.privacy.linkage_risk.speech_linkage`), written to
        ``linkage_risk.json`` with the published figure beside it.

    Returns
    -------
    dict of str to Path
        ``participants``, ``participants_json``, ``risk`` and one entry per modality.
    """
    s = resolve_section("anonymize", dict(settings or {}))
    for modality in feature_tables:
        # the name becomes a file name in out_dir: no separators, no "..", no spaces
        if not MODALITY_NAME.fullmatch(modality):
            raise ValueError(
                f"modality {modality!r}: use lower-case letters, digits and _ (e.g. mri, speech)"
            )
    out = Path(out_dir)
    table = read_tsv(participants, dtype=str)
    labels = [pid.removeprefix("sub-") for pid in table["participant_id"]]
    ids = {
        pid: f"sub-{pseudonym(label, key, s['pseudonym_length'])}"
        for pid, label in zip(table["participant_id"], labels, strict=True)
    }
    columns = list(s["participants_columns"])
    shared = shareable_participants(
        table, ids, columns, s["age_column"], s["age_bin_years"], s["age_top_code"]
    )
    written = {
        "participants": write_tsv(shared, out / "participants.tsv"),
        "participants_json": write_json(
            participants_sidecar(
                [c for c in columns if c in shared], s["age_column"], s["age_bin_years"]
            ),
            out / "participants.json",
        ),
    }
    for modality, path in sorted(feature_tables.items()):
        features = read_tsv(path)
        unknown = sorted(set(features["participant_id"]) - set(ids))
        if unknown:
            raise ValueError(
                f"{path}: {len(unknown)} participant(s) not in {participants} "
                f"(first: {unknown[0]}); every shared row needs a pseudonym"
            )
        kept = _numeric_columns(features)
        rows = features[["participant_id", *kept]].copy()
        rows[kept] = rows[kept].apply(pd.to_numeric).astype(np.float64)
        rows["participant_id"] = rows["participant_id"].map(ids)
        rows = rows.sort_values("participant_id").reset_index(drop=True)
        written[modality] = write_tsv(rows, out / f"{modality}_features.tsv")
    written["risk"] = write_json(
        linkage_risk(sorted(feature_tables), measured or {}, len(ids)), out / "linkage_risk.json"
    )
    return written


def linkage_risk(modalities, measured: Mapping[str, Mapping], n_participants: int) -> dict:
    """The content of ``linkage_risk.json``: per shared table, what it still reveals.

    Parameters
    ----------
    modalities : iterable of str
        The shared tables.
    measured : mapping
        Modality -> attacks measured on this study (see :func:`share_features`).
    n_participants : int
        Participants in the shared participants.tsv.

    Returns
    -------
    dict
        ``identifiers``, and per modality ``attack``, ``this_study`` (the measured attacks, or
        why none was measured) and ``published_benchmark`` (figure, data, RESULTS.md section
        and command; absent when no benchmark measured this table).
    """
    risk = {
        "shared": list(modalities),
        "n_participants": n_participants,
        "identifiers": "participant ids replaced by keyed pseudonyms (HMAC-SHA256)",
        "reading": (
            "top1: fraction of participants an attacker holding another acquisition of them "
            "re-identifies in the shared table (chance: 1 / n); 'this_study' is measured on "
            "this study's own data, 'published_benchmark' is quoted from benchmarks/RESULTS.md"
        ),
        "tables": {},
    }
    for modality in modalities:
        attack = ATTACKS.get(modality)
        entry: dict = {"attack": attack.replace("_", " ") if attack else None}
        if modality in measured:
            entry["this_study"] = dict(measured[modality])
        else:
            entry["this_study"] = {
                "measured": False,
                "reason": (
                    "psymodal has no re-identification attack for this table"
                    if attack is None
                    else "not measured for this share (no time series or recordings given)"
                ),
            }
        if attack is not None:
            entry["published_benchmark"] = published_entry(attack)
        else:
            entry["note"] = "unmeasured is not safe: treat the table as identifying data"
        risk["tables"][modality] = entry
    return risk
