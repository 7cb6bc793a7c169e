"""Feature-level sharing: the derived feature tables of a study, under keyed pseudonyms.

Sharing derived features instead of images and audio is the safer default of the issue's
privacy design: no face, no voice, no free text. It is not anonymous: connectomes
fingerprint their subject (Finn et al. 2015; top-1 0.94 on ABIDE 100) and speech features
link recordings of one speaker (0.98 on FSDD), see ``benchmarks/RESULTS.md``. What this module
removes is the direct identifiers: participant ids become the same keyed pseudonyms as in the
shareable copy (:func:`psymodal.privacy.pseudonyms.pseudonym`), participants.tsv keeps the
allow-listed columns with binned ages (:func:`psymodal.privacy.metadata.shareable_participants`),
and feature tables keep numeric columns only (QC tables, whose reasons name files, are not
shared).
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
from psymodal.settings import resolve_section

__all__ = ["share_features"]

#: Measured re-identification risk of released features (benchmarks/RESULTS.md), written next
#: to the shared tables so that a recipient reads it with them.
LINKAGE_RISK = {
    "mri": "connectome fingerprinting: top-1 identification 0.94 between split halves (ABIDE 100)",
    "speech": "speech-feature linkage: session-average top-1 0.98 among 6 speakers (FSDD)",
}


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
        {
            "shared": sorted(feature_tables),
            "identifiers": "participant ids replaced by keyed pseudonyms (HMAC-SHA256)",
            "not_anonymous": {
                m: LINKAGE_RISK[m] for m in sorted(feature_tables) if m in LINKAGE_RISK
            },
        },
        out / "linkage_risk.json",
    )
    return written
