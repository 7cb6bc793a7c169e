"""Re-identification risk of released feature tables, measured on the study's own data.

A shared feature table is only as anonymous as its rows are unlinkable. Two attacks from the
issue's privacy design are run on the participants whose rows are released:

- :func:`connectome_fingerprinting`: the connectome of one run (or one half of a run) is
  matched to the most correlated connectome of another run (or the other half) of every
  participant (Finn et al. 2015); top-1 identification rate against chance ``1/n``.
- :func:`speech_linkage`: psymodal's speech features of one recording (or one half of a
  recording) are linked to the most correlated row of the same features from another
  recording (or the other half) of every participant
  (:func:`psymodal.privacy.attacks.linkage_rate`).

Between two runs, sessions or recordings is the attack the issue names; with one per
participant, the two halves of it are the nearest the study's data allow (easier for the
attacker than across days, so it overstates the risk rather than hides it; Finn's across-day
rate on 126 participants was 0.93-0.94). Each result says which protocol it used and on how
many participants; when too few participants are usable it says so instead of a number.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from psymodal.privacy.attacks import identification_rate, linkage_rate

__all__ = ["connectome_fingerprinting", "measure_for_share", "speech_linkage", "timeseries_of"]

# With 2 participants chance is 0.5 and a top-1 rate says little; 3 is the least that does.
MIN_PARTICIPANTS = 3
# A correlation over fewer time points per half is noise (Finn et al. used 1,200 per run).
MIN_VOLUMES_PER_HALF = 10

_SPLIT_HALVES = "split halves"
_TWO_ACQUISITIONS = "two acquisitions"


def _not_measured(reason: str) -> dict:
    return {"measured": False, "reason": reason}


def _connectome(series: np.ndarray) -> np.ndarray:
    """Fisher-z Pearson connectome (regions x regions); NaN for a flat or missing region."""
    finite = np.all(np.isfinite(series), axis=0) & (np.nanstd(series, axis=0) > 0)
    out = np.full((series.shape[1], series.shape[1]), np.nan)
    if finite.sum() >= 2:
        r = np.corrcoef(series[:, finite], rowvar=False)
        out[np.ix_(finite, finite)] = np.arctanh(np.clip(r, -0.999999, 0.999999))
    return out


def _read_series(path: Path) -> tuple[list[str], np.ndarray]:
    from psymodal.io.tables import read_tsv

    table = read_tsv(path)
    return list(table.columns), table.to_numpy(dtype=np.float64)


def _fingerprint(pairs: dict[str, tuple[np.ndarray, np.ndarray]], protocol: str, detail: str):
    """Top-1 identification of every participant's second connectome among the first ones."""
    if len(pairs) < MIN_PARTICIPANTS:
        return _not_measured(
            f"{len(pairs)} participant(s) with usable {protocol}; at least {MIN_PARTICIPANTS} "
            "are needed"
        )
    people = sorted(pairs)
    n = pairs[people[0]][0].shape[0]
    upper = np.triu_indices(n, k=1)
    first = np.stack([pairs[p][0][upper] for p in people])
    second = np.stack([pairs[p][1][upper] for p in people])
    edges = np.all(np.isfinite(first), axis=0) & np.all(np.isfinite(second), axis=0)
    if edges.sum() < 2:
        return _not_measured("fewer than 2 connectome edges are defined in every participant")
    both = [
        identification_rate(first[:, edges], second[:, edges]),
        identification_rate(second[:, edges], first[:, edges]),
    ]
    return {
        "measured": True,
        "protocol": f"{protocol}: {detail}",
        "top1": float(np.mean(both)),
        "top1_by_direction": both,
        "chance": 1.0 / len(people),
        "n_participants": len(people),
        "n_edges": int(edges.sum()),
    }


def connectome_fingerprinting(series: Mapping[str, Sequence[str | os.PathLike]]) -> dict:
    """Connectome fingerprinting of released participants from their ROI time series.

    Parameters
    ----------
    series : mapping of str to sequence of path-like
        Participant -> its ROI time-series tables (volumes x regions, the MRI stage's
        ``*_timeseries.tsv``), in run/session order. Only participants whose connectome is
        released should be given.

    Returns
    -------
    dict
        ``split_halves``: first against second half of each participant's first series;
        ``two_acquisitions``: first against second series, where at least
        :data:`MIN_PARTICIPANTS` participants have two. Each holds ``measured`` and, when
        true, ``protocol``, ``top1`` (mean of both directions), ``top1_by_direction``,
        ``chance``, ``n_participants`` and ``n_edges``; else ``reason``.
        Connectomes are Fisher-z Pearson correlations of the regions present in the series.
    """
    halves, runs, regions, short = {}, {}, None, 0
    for person, paths in sorted(series.items()):
        if not paths:
            continue
        loaded = [_read_series(Path(p)) for p in paths[:2]]
        if regions is None:
            regions = loaded[0][0]
        if any(columns != regions for columns, _ in loaded):
            continue  # another atlas or region set: not comparable
        data = loaded[0][1]
        half = data.shape[0] // 2
        if half >= MIN_VOLUMES_PER_HALF:
            halves[person] = (_connectome(data[:half]), _connectome(data[half : 2 * half]))
        else:
            short += 1
        if len(loaded) == 2:
            runs[person] = (_connectome(loaded[0][1]), _connectome(loaded[1][1]))
    shortness = f" ({short} with fewer than {2 * MIN_VOLUMES_PER_HALF} volumes left out)"
    return {
        "split_halves": _fingerprint(
            halves,
            _SPLIT_HALVES,
            "first against second half of each participant's first time series"
            + (shortness if short else ""),
        ),
        "two_acquisitions": _fingerprint(
            runs, _TWO_ACQUISITIONS, "first against second run or session of each participant"
        ),
    }


def _speech_rows(signals, cfg, names) -> np.ndarray:
    from psymodal.speech.features import analyse_recording

    rows = []
    for y, sr in signals:
        features = analyse_recording(y, sr, cfg).features
        rows.append([features[n] for n in names])
    return np.asarray(rows, dtype=np.float64)


def _link(first: dict, second: dict, names: list[str], protocol: str, detail: str) -> dict:
    people = sorted(set(first) & set(second))
    if len(people) < MIN_PARTICIPANTS:
        return _not_measured(
            f"{len(people)} participant(s) with usable {protocol}; at least {MIN_PARTICIPANTS} "
            "are needed"
        )
    released = np.stack([first[p] for p in people])
    known = np.stack([second[p] for p in people])
    try:
        result = linkage_rate(released, people, known, people)
    except ValueError as error:  # fewer than 2 features vary
        return _not_measured(str(error))
    return {
        "measured": True,
        "protocol": f"{protocol}: {detail}",
        "top1": result["top1"],
        "chance": result["chance"],
        "n_participants": len(people),
        "n_features": result["n_features"],
        "n_features_released": len(names),
    }


def speech_linkage(
    recordings: Mapping[str, Sequence[str | os.PathLike]], settings: Mapping | None = None
) -> dict:
    """Speech-feature linkage of released participants from their recordings.

    Parameters
    ----------
    recordings : mapping of str to sequence of path-like
        Participant -> its recordings (:func:`psymodal.speech.pipeline.find_recordings`).
        Only participants whose speech features are released should be given.
    settings : mapping, optional
        The ``speech`` settings the released features were computed with.

    Returns
    -------
    dict
        ``split_halves``: features of the first half of each participant's first recording
        released, the second half known to the attacker; ``two_acquisitions``: the first
        recording released, the second known, where at least :data:`MIN_PARTICIPANTS`
        participants have two. Same keys as :func:`connectome_fingerprinting`, with
        ``n_features`` (usable by the attacker) of ``n_features_released``.
    """
    from psymodal.settings import resolve_section
    from psymodal.speech.audio import read_audio
    from psymodal.speech.features import feature_names

    # frame sizes are set per recording, for the rate it is analysed at
    cfg = resolve_section("speech", dict(settings or {}))
    names = feature_names(cfg)
    halves = ({}, {})
    firsts, seconds = {}, {}
    unreadable = 0
    for person, paths in sorted(recordings.items()):
        try:
            audio = [
                read_audio(p, cfg["sample_rate"], cfg["channels"], upsample=False)
                for p in paths[:2]
            ]
        except Exception:  # an unreadable recording: the speech stage's QC names it
            unreadable += 1
            continue
        if not audio:
            continue
        y, sr = audio[0].y, audio[0].sr
        middle = len(y) // 2
        a, b = _speech_rows([(y[:middle], sr), (y[middle : 2 * middle], sr)], cfg, names)
        halves[0][person], halves[1][person] = a, b
        if len(audio) == 2:
            firsts[person], seconds[person] = _speech_rows([(x.y, x.sr) for x in audio], cfg, names)
    note = f" ({unreadable} unreadable left out)" if unreadable else ""
    return {
        "split_halves": _link(
            *halves,
            names,
            _SPLIT_HALVES,
            "first against second half of each participant's first recording" + note,
        ),
        "two_acquisitions": _link(
            firsts,
            seconds,
            names,
            _TWO_ACQUISITIONS,
            "first against second recording of each participant" + note,
        ),
    }


def _released(table_path) -> list[str]:
    """Participants with at least one number in a feature table (the rows an attacker gets)."""
    from psymodal.io.tables import read_tsv

    table = read_tsv(table_path)
    values = table.drop(columns="participant_id").apply(lambda c: c.map(_is_number))
    return sorted(table.loc[values.any(axis=1), "participant_id"])


def _is_number(value) -> bool:
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def timeseries_of(stage_dir: str | os.PathLike, participant: str) -> list[Path]:
    """The MRI stage's ROI time series of one participant (``sub-XX``), in session/run order."""
    folder = Path(stage_dir) / participant
    return sorted(
        p for p in folder.glob("**/func/*_timeseries.tsv") if p.name.startswith(f"{participant}_")
    )


def measure_for_share(
    feature_tables: Mapping[str, str | os.PathLike],
    timeseries_dir: str | os.PathLike | None = None,
    recordings_dir: str | os.PathLike | None = None,
    speech_settings: Mapping | None = None,
) -> dict[str, dict]:
    """The linkage attacks of the shared tables, on the participants whose rows are released.

    Parameters
    ----------
    feature_tables : mapping of str to path-like
        Modality -> group feature table, as given to
        :func:`psymodal.privacy.features.share_features`.
    timeseries_dir : path-like, optional
        The MRI stage folder (``sub-XX/[ses-YY/]func/*_timeseries.tsv``): fingerprinting of the
        ``mri`` table.
    recordings_dir : path-like, optional
        The study (BIDS) whose recordings the ``speech`` table was computed from.
    speech_settings : mapping, optional
        The ``speech`` settings of the released table (its ``task`` selects the recordings).

    Returns
    -------
    dict
        Modality -> :func:`connectome_fingerprinting` or :func:`speech_linkage` result, each
        with ``measured_on`` naming the data.
    """
    measured = {}
    if "mri" in feature_tables and timeseries_dir is not None:
        people = _released(feature_tables["mri"])
        result = connectome_fingerprinting({p: timeseries_of(timeseries_dir, p) for p in people})
        result["measured_on"] = (
            f"this study: the MRI stage's ROI time series of the {len(people)} participants "
            "with a released connectome"
        )
        measured["mri"] = result
    if "speech" in feature_tables and recordings_dir is not None:
        from psymodal.settings import resolve_section
        from psymodal.speech.pipeline import find_recordings

        task = resolve_section("speech", dict(speech_settings or {}))["task"]
        people = _released(feature_tables["speech"])
        result = speech_linkage(
            {p: find_recordings(recordings_dir, p, task) for p in people}, speech_settings
        )
        result["measured_on"] = (
            f"this study: the recordings of the {len(people)} participants with released speech "
            "features, analysed with the same speech settings"
        )
        measured["speech"] = result
    return measured
