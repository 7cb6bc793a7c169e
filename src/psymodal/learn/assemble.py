"""Assembly of labels, covariates and per-modality feature tables into one study matrix.

A subject missing a modality (no row, an all-missing row, or QC ``included`` false) is kept, with
missing values for that block and ``available`` false, so that fusion can still predict it from
the modalities it has. Subjects without a usable label, or without any modality, are dropped and
recorded in ``exclusions`` with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from psymodal.io.tables import read_tsv
from psymodal.learn.settings import resolve

ID = "participant_id"
#: Prefix of the covariate columns in :attr:`StudyData.X`.
COVARIATE_PREFIX = "confound__"
#: Separator between the modality name and the feature name in :attr:`StudyData.X`.
SEP = "__"


@dataclass
class StudyData:
    """Everything the evaluation needs, aligned on one subject order (sorted ``participant_id``).

    Attributes
    ----------
    X : pandas.DataFrame
        Index ``participant_id``. Feature columns are ``<modality>__<feature>``; covariate
        columns are ``confound__<name>`` (categorical covariates as integer codes, in sorted
        order of their values). Missing values are NaN.
    y : numpy.ndarray
        1 for the positive label, 0 otherwise; the numeric label for ``task: regression``;
        the class code (position in :attr:`classes`) for ``task: multiclass``.
    blocks : dict of str to list of str
        Modality name -> its columns in ``X``, in input order.
    covariates : list of str
        Covariate columns of ``X`` (``confound__age``...).
    categorical : list of str
        The covariate columns that are categorical codes.
    available : pandas.DataFrame
        Boolean, index ``participant_id``, one column per modality.
    participants : pandas.DataFrame
        The kept rows of participants.tsv, same order as ``X``.
    site : numpy.ndarray or None
        Site label per subject (strings), when the site column exists.
    groups : numpy.ndarray or None
        Grouping for StratifiedGroupKFold (``cv.group_column``), else None.
    exclusions : pandas.DataFrame
        ``participant_id``, ``reason`` of every dropped subject.
    notes : list of str
        Decisions taken while assembling (dropped all-missing features...).
    classes : list of str
        ``task: multiclass``: the label values in code order; empty otherwise.
    """

    X: pd.DataFrame
    y: np.ndarray
    blocks: dict[str, list[str]]
    covariates: list[str]
    categorical: list[str]
    available: pd.DataFrame
    participants: pd.DataFrame
    site: np.ndarray | None
    groups: np.ndarray | None
    exclusions: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)

    @property
    def ids(self) -> np.ndarray:
        """Participant identifiers in row order."""
        return self.X.index.to_numpy()

    @property
    def modalities(self) -> list[str]:
        """Modality names in input order."""
        return list(self.blocks)


def _read(path_or_frame) -> pd.DataFrame:
    if isinstance(path_or_frame, pd.DataFrame):
        return path_or_frame.copy()
    return read_tsv(path_or_frame, dtype={ID: str})


def _require_id(table: pd.DataFrame, what: str) -> pd.DataFrame:
    if ID not in table.columns:
        raise ValueError(f"{what} has no '{ID}' column (columns: {list(table.columns)[:10]})")
    table = table.copy()
    table[ID] = table[ID].astype(str)
    duplicated = table[ID][table[ID].duplicated()].unique()
    if len(duplicated):
        raise ValueError(f"{what} lists participants more than once: {sorted(duplicated)[:5]}")
    return table


def _as_bool(values: pd.Series) -> pd.Series:
    """Read a QC ``included`` column written as bool, 0/1 or the strings True/False."""
    if values.dtype == bool:
        return values
    text = values.astype(str).str.strip().str.lower()
    truthy = text.isin(["true", "1", "1.0", "yes"])
    falsy = text.isin(["false", "0", "0.0", "no", "nan", "n/a", "none", ""])
    unknown = ~(truthy | falsy)
    if unknown.any():
        raise ValueError(f"QC 'included' has values that are not booleans: {set(text[unknown])}")
    return truthy


def _encode_categorical(values: pd.Series) -> pd.Series:
    """Integer codes in sorted order of the (string) values; missing stays NaN."""
    present = values.dropna().astype(str)
    levels = sorted(present.unique())
    mapping = {level: float(i) for i, level in enumerate(levels)}
    return values.map(lambda v: np.nan if pd.isna(v) else mapping[str(v)]).astype(float)


def assemble(
    participants_tsv: str | os.PathLike | pd.DataFrame,
    feature_tables: Mapping[str, str | os.PathLike | pd.DataFrame],
    qc_tables: Mapping[str, str | os.PathLike | pd.DataFrame] | None,
    settings: Mapping | None,
) -> StudyData:
    """Join participants.tsv with per-modality feature tables (and their QC) into a StudyData.

    Parameters
    ----------
    participants_tsv : path or DataFrame
        ``participant_id``, the label column (``diagnosis``) and covariates (age, sex, site...).
    feature_tables : mapping of str to path or DataFrame
        Modality name -> table with ``participant_id`` and numeric feature columns (one row per
        subject). Rows of subjects absent from participants.tsv are ignored and recorded.
    qc_tables : mapping of str to path or DataFrame, optional
        Modality name -> QC table (``participant_id``, ``included``...). A subject with
        ``included`` false has that modality set missing. A subject absent from a QC table
        that is given counts as included.
    settings : mapping or None
        The ``learn`` settings (see :mod:`psymodal.learn.settings`).

    Returns
    -------
    StudyData

    Raises
    ------
    ValueError
        Missing ``participant_id`` or label column, duplicated subjects, non-numeric features,
        no feature table, or fewer than two classes after exclusions.
    """
    s = resolve(settings)
    if not feature_tables:
        raise ValueError("no feature table given: at least one modality is needed")
    exclusions: list[tuple[str, str]] = []
    notes: list[str] = []
    participants = _labelled_participants(participants_tsv, s, exclusions)
    ids = participants[ID]

    blocks: dict[str, list[str]] = {}
    frames: list[pd.DataFrame] = []
    qc_covariates: dict[str, pd.Series] = {}
    available = pd.DataFrame(index=pd.Index(ids, name=ID))
    for modality, source in feature_tables.items():
        features, present = _modality_block(
            modality, source, qc_tables, participants, s, exclusions, notes, qc_covariates
        )
        blocks[modality] = list(features.columns)
        frames.append(features.reset_index(drop=True))
        available[modality] = present.to_numpy()

    none_available = ~available.any(axis=1).to_numpy()
    for pid in ids[none_available]:
        exclusions.append((pid, "no modality available"))

    cov_frame, covariates, categorical = _covariate_columns(participants, qc_covariates, s, notes)
    X = pd.concat([cov_frame, *frames], axis=1)
    X.index = pd.Index(ids.to_numpy(), name=ID)
    keep = ~none_available
    X = X[keep]
    available = available[keep]
    participants = participants[keep].reset_index(drop=True)
    y = _labels(participants, s)
    site, groups = _sites_and_groups(participants, s)

    exclusion_table = pd.DataFrame(exclusions, columns=[ID, "reason"])
    exclusion_table = exclusion_table.sort_values([ID, "reason"], kind="stable")
    return StudyData(
        X=X,
        y=y,
        blocks=blocks,
        covariates=covariates,
        categorical=categorical,
        available=available,
        participants=participants,
        site=site,
        groups=groups,
        exclusions=exclusion_table.reset_index(drop=True),
        notes=notes,
        classes=(
            class_codes(participants[s["label_column"]], s["label_column"])[1]
            if s["task"] == "multiclass"
            else []
        ),
    )


def _labelled_participants(
    participants_tsv, s: Mapping, exclusions: list[tuple[str, str]]
) -> pd.DataFrame:
    """participants.tsv sorted by ``participant_id``, without the subjects that lack a label.

    A missing label, and with ``negative_label`` set a label that is neither the positive nor
    the negative one, excludes the subject (appended to ``exclusions`` with the reason).

    Raises
    ------
    ValueError
        No ``participant_id`` or label column, or duplicated participants.
    """
    participants = _require_id(_read(participants_tsv), "participants.tsv")
    participants = participants.sort_values(ID, kind="stable").reset_index(drop=True)
    label_col = s["label_column"]
    if label_col not in participants.columns:
        raise ValueError(f"participants.tsv has no label column '{label_col}'")
    label = participants[label_col]
    missing_label = label.isna() | (label.astype(str).str.strip() == "")
    for pid in participants.loc[missing_label, ID]:
        exclusions.append((pid, f"missing label ({label_col})"))
    keep = ~missing_label
    if s["task"] == "regression":
        number = pd.to_numeric(label, errors="coerce")
        for pid, value in participants.loc[keep & number.isna(), [ID, label_col]].itertuples(
            index=False
        ):
            exclusions.append((pid, f"label '{value}' ({label_col}) is not a number"))
        keep &= number.notna()
        return participants[keep].reset_index(drop=True)
    if s["negative_label"] is not None and s["task"] == "classification":
        known = label.astype(str).isin([str(s["positive_label"]), str(s["negative_label"])])
        for pid, value in participants.loc[keep & ~known, [ID, label_col]].itertuples(index=False):
            exclusions.append((pid, f"label '{value}' is neither positive nor negative label"))
        keep &= known
    return participants[keep].reset_index(drop=True)


def _modality_block(
    modality: str,
    source,
    qc_tables: Mapping | None,
    participants: pd.DataFrame,
    s: Mapping,
    exclusions: list[tuple[str, str]],
    notes: list[str],
    qc_covariates: dict[str, pd.Series],
) -> tuple[pd.DataFrame, pd.Series]:
    """One modality's features on the participants' rows, and which subjects have them.

    Subjects of the table absent from participants.tsv are recorded in ``exclusions``; with a
    QC table the modality of a subject with ``included`` false is set missing
    (:func:`_apply_qc`); features missing for every subject are dropped (noted in ``notes``).

    Returns
    -------
    DataFrame
        Index ``participant_id`` (the participants' order), columns ``<modality>__<feature>``.
    Series of bool
        Whether the subject has the modality (a non-missing value, and QC passed).

    Raises
    ------
    ValueError
        A reserved modality name, no ``participant_id`` column, duplicated subjects,
        non-numeric features, or no usable feature column.
    """
    if SEP in modality or modality == COVARIATE_PREFIX.rstrip("_"):
        raise ValueError(f"modality name '{modality}' may not contain '{SEP}' or be 'confound'")
    ids = participants[ID]
    table = _require_id(_read(source), f"feature table '{modality}'")
    extra = sorted(set(table[ID]) - set(participants[ID]) - {p for p, _ in exclusions})
    for pid in extra:
        exclusions.append((pid, f"in {modality} features but not in participants.tsv"))
    features = table.drop(columns=[ID])
    # column by column through dtypes and one isna(): a connectome table has thousands of edges
    all_missing = features.isna().all(axis=0)
    non_numeric = [
        c for c, dtype in features.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)
    ]
    # A column that only holds missing values is read as object/str; it is numeric in intent.
    non_numeric = [c for c in non_numeric if not all_missing[c]]
    if non_numeric:
        raise ValueError(f"feature table '{modality}' has non-numeric columns: {non_numeric[:5]}")
    features = features.astype(float)
    features.index = table[ID]
    features = features.reindex(ids)
    present = features.notna().any(axis=1)
    if qc_tables and modality in qc_tables:
        present = _apply_qc(
            modality, qc_tables[modality], features, present, participants, s, qc_covariates
        )
    # A feature missing for every labelled subject carries no information; dropping it here
    # uses no label, so it cannot leak, and keeps every fold's design the same width.
    empty = list(features.columns[features.isna().all(axis=0).to_numpy()])
    if empty:
        notes.append(f"{modality}: dropped {len(empty)} feature(s) missing for all subjects")
        features = features.drop(columns=empty)
    if features.shape[1] == 0:
        raise ValueError(f"feature table '{modality}' has no usable feature column")
    features.columns = [f"{modality}{SEP}{c}" for c in features.columns]
    return features, present


def _apply_qc(
    modality: str,
    qc_source,
    features: pd.DataFrame,
    present: pd.Series,
    participants: pd.DataFrame,
    s: Mapping,
    qc_covariates: dict[str, pd.Series],
) -> pd.Series:
    """Set the modality missing (in place) for subjects its QC table does not include.

    QC measures named in the ``confounds`` setting and absent from participants.tsv (e.g. the
    MRI stage's ``mean_fd``) are collected into ``qc_covariates`` (first table wins).

    Returns
    -------
    Series of bool
        ``present`` without the subjects that failed QC.
    """
    ids = participants[ID]
    qc = _require_id(_read(qc_source), f"QC table '{modality}'")
    if "included" not in qc.columns:
        raise ValueError(f"QC table '{modality}' has no 'included' column")
    # QC measures (e.g. the MRI stage's mean_fd) can serve as confounds by name
    for name in s["confounds"]:
        if name in qc.columns and name not in participants.columns:
            qc_covariates.setdefault(
                name, pd.to_numeric(qc.set_index(ID)[name], errors="coerce").reindex(ids)
            )
    included = _as_bool(qc["included"])
    excluded_ids = set(qc.loc[~included.to_numpy(), ID])
    qc_fail = ids.isin(excluded_ids).to_numpy()
    present &= ~qc_fail
    features.loc[qc_fail, :] = np.nan
    return present


def _covariate_columns(
    participants: pd.DataFrame,
    qc_covariates: dict[str, pd.Series],
    s: Mapping,
    notes: list[str],
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The ``confound__<name>`` columns, from participants.tsv or else a QC table.

    Categorical covariates (``categorical_confounds``, or non-numeric) become integer codes
    (:func:`_encode_categorical`); a confound found nowhere is skipped (noted in ``notes``).

    Returns
    -------
    DataFrame
        One row per participant (positional index), one column per covariate.
    list of str
        The covariate columns.
    list of str
        The categorical ones among them.
    """
    covariates, categorical = [], []
    cov_frame = pd.DataFrame(index=range(len(participants[ID])))
    for name in s["confounds"]:
        if name in participants.columns:
            values = participants[name]
        elif name in qc_covariates:
            values = qc_covariates[name].reset_index(drop=True)
        else:
            notes.append(f"confound '{name}' not in participants.tsv nor a QC table: skipped")
            continue
        column = f"{COVARIATE_PREFIX}{name}"
        if name in s["categorical_confounds"] or not pd.api.types.is_numeric_dtype(values):
            cov_frame[column] = _encode_categorical(values)
            categorical.append(column)
        else:
            cov_frame[column] = values.astype(float)
        covariates.append(column)
    return cov_frame, covariates, categorical


def class_codes(labels: pd.Series, label_col: str) -> tuple[np.ndarray, list[str]]:
    """Multiclass targets: the code of each label (its position among the sorted distinct
    values, as text) and those values.

    Raises
    ------
    ValueError
        With fewer than three classes (two classes are ``learn.task: classification``) or a
        class with fewer than two subjects (it can be in no training fold and test fold both).
    """
    text = labels.astype(str).str.strip()
    classes = sorted(text.unique())
    counts = text.value_counts()
    if len(classes) < 3:
        raise ValueError(
            f"learn.task: multiclass needs at least three values of '{label_col}', found "
            f"{classes}: use learn.task: classification for two"
        )
    small = sorted(str(c) for c in counts.index[counts < 2])
    if small:
        raise ValueError(f"classes of '{label_col}' with fewer than two subjects: {small}")
    return text.map({c: k for k, c in enumerate(classes)}).to_numpy(dtype=int), classes


def _labels(participants: pd.DataFrame, s: Mapping) -> np.ndarray:
    """``y``: 1 where the label is the positive label, else 0; both classes are required.

    For ``task: regression`` the numeric label (float), which must vary; for ``multiclass``
    the class codes (:func:`class_codes`).
    """
    label_col = s["label_column"]
    if s["task"] == "regression":
        y = pd.to_numeric(participants[label_col]).to_numpy(dtype=float)
        if len(y) < 3 or np.ptp(y) == 0:
            raise ValueError(f"regression needs a varying '{label_col}' ({len(y)} subjects)")
        return y
    if s["task"] == "multiclass":
        return class_codes(participants[label_col], label_col)[0]
    y = (participants[label_col].astype(str) == str(s["positive_label"])).to_numpy().astype(int)
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"only one class after assembly ({len(y)} subjects, positive label "
            f"'{s['positive_label']}' found {int(y.sum())} times): classification needs both"
        )
    return y


def _sites_and_groups(
    participants: pd.DataFrame, s: Mapping
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Site labels (``site_column``, when present) and CV groups (``cv.group_column``)."""
    site_col = s["site_column"]
    site = participants[site_col].astype(str).to_numpy() if site_col in participants else None
    group_col = s["cv"].get("group_column")
    groups = None
    if group_col is not None:
        if group_col not in participants.columns:
            raise ValueError(f"cv.group_column '{group_col}' not in participants.tsv")
        groups = participants[group_col].astype(str).to_numpy()
    return site, groups
