"""Demo study design: the specification, the participant plan and per-subject parameters.

Everything here is cheap (no images, no audio): :func:`plan` tells which subjects exist, their
demographics and which modalities they have, and :func:`subject_parameters` draws the hidden
generating parameters (motion level, voice, pauses...) that the generators use and that the
ground truth records.

Random streams
--------------
Every subject has its own generators, seeded by ``numpy.random.SeedSequence([seed, number,
stream])`` where ``number`` is the subject's 1-based number and ``stream`` separates the jobs
(:data:`STREAM_PARAMS`, :data:`STREAM_ANAT`, :data:`STREAM_BOLD`, :data:`STREAM_VOICE`,
:data:`STREAM_LANGUAGE`). A
subject's data therefore do not depend on the other subjects; only the design (diagnosis, site
and missing-modality assignment) depends on ``n_subjects``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

STREAM_PARAMS = 0
STREAM_ANAT = 1
STREAM_BOLD = 2
STREAM_VOICE = 3
STREAM_LANGUAGE = 4
STREAM_SCORE = 5
#: Subject number 0 is reserved for study-level streams (design, planted edges, shuffling).
STUDY = 0
STUDY_DESIGN = 0
STUDY_EDGES = 1
STUDY_SHUFFLE = 2

#: Number of initial non-steady-state (dummy) volumes planted in every BOLD run.
N_DUMMY = 2


@dataclass(frozen=True)
class DemoSpec:
    """Specification of the embedded demo study.

    Parameters
    ----------
    n_subjects : int
        Number of participants (half patients, half controls; one more control when odd).
    n_sites : int
        Number of acquisition sites (``site-A``, ``site-B``...), balanced within diagnosis.
    seed : int
        Master seed; the same specification always gives byte-identical files.
    n_volumes : int
        BOLD volumes per run, including the :data:`N_DUMMY` non-steady-state volumes.
    tr : float
        Repetition time in seconds.
    voxel_mm : float
        Isotropic BOLD voxel size (MNI space).
    speech_seconds : tuple of float
        Range of the reading-task recording durations (seconds); each subject draws one.
    shuffle_labels : bool
        Permute the diagnosis column of ``participants.tsv`` after generation (fixed seed), so
        that the labels carry no signal: a null study. The data are unchanged.
    """

    n_subjects: int = 40
    n_sites: int = 2
    seed: int = 42
    n_volumes: int = 120
    tr: float = 2.0
    voxel_mm: float = 4.0
    speech_seconds: tuple[float, float] = (20.0, 40.0)
    shuffle_labels: bool = False

    def __post_init__(self):
        if self.n_subjects < 4:
            raise ValueError("DemoSpec.n_subjects must be at least 4 (two per group).")
        if not 1 <= self.n_sites <= 26:
            raise ValueError("DemoSpec.n_sites must be between 1 and 26.")
        if self.n_volumes < 20 + N_DUMMY:
            raise ValueError(f"DemoSpec.n_volumes must be at least {20 + N_DUMMY}.")
        if self.tr <= 0 or self.voxel_mm <= 0:
            raise ValueError("DemoSpec.tr and DemoSpec.voxel_mm must be positive.")
        lo, hi = self.speech_seconds
        if not 3.0 <= lo <= hi:
            raise ValueError("DemoSpec.speech_seconds must be (lo, hi) with 3 <= lo <= hi.")
        # normalise to a tuple of floats so that equal specs compare (and hash) equal
        object.__setattr__(self, "speech_seconds", (float(lo), float(hi)))

    @classmethod
    def small(cls, **kw) -> DemoSpec:
        """A quick variant for tests: 12 subjects, 100 volumes, 8-12 s of speech.

        100 volumes leave 3.3 min after the dummy scans, enough for the default QC.

        Keyword arguments override any field.
        """
        base = cls(n_subjects=12, n_volumes=100, speech_seconds=(8.0, 12.0))
        return replace(base, **kw)


def subject_ids(n_subjects: int) -> list[str]:
    """Zero-padded BIDS participant identifiers ``sub-01``... (at least two digits)."""
    width = max(2, len(str(n_subjects)))
    return [f"sub-{k:0{width}d}" for k in range(1, n_subjects + 1)]


def site_names(n_sites: int) -> list[str]:
    """``site-A``, ``site-B``..."""
    return [f"site-{string.ascii_uppercase[k]}" for k in range(n_sites)]


def rng_for(spec: DemoSpec, number: int, stream: int) -> np.random.Generator:
    """The random generator of one subject (``number`` >= 1) or of the study (0) and job."""
    return np.random.default_rng(np.random.SeedSequence([spec.seed, number, stream]))


def true_plan(spec: DemoSpec) -> pd.DataFrame:
    """The participants with their TRUE diagnosis (before any label shuffling).

    See :func:`plan` for the columns; here ``diagnosis`` is always the generating one.
    """
    n = spec.n_subjects
    rng = rng_for(spec, STUDY, STUDY_DESIGN)
    n_patients = n // 2
    order = rng.permutation(n)
    diagnosis = np.empty(n, dtype=object)
    diagnosis[order[:n_patients]] = "patient"
    diagnosis[order[n_patients:]] = "control"
    # sites: round-robin within each diagnosis group, in a random order -> balanced design
    sites = site_names(spec.n_sites)
    site = np.empty(n, dtype=object)
    for group in ("patient", "control"):
        members = rng.permutation(np.flatnonzero(diagnosis == group))
        offset = int(rng.integers(spec.n_sites))
        for k, member in enumerate(members):
            site[member] = sites[(k + offset) % spec.n_sites]
    # missing modalities: ~5% of subjects each (at least one), never both for one subject
    n_missing = max(1, int(round(0.05 * n)))
    missing = rng.permutation(n)
    has_fmri = np.ones(n, dtype=bool)
    has_speech = np.ones(n, dtype=bool)
    has_fmri[missing[:n_missing]] = False
    has_speech[missing[n_missing : 2 * n_missing]] = False

    ages, sexes = [], []
    for number in range(1, n + 1):
        sub_rng = rng_for(spec, number, STREAM_PARAMS)
        ages.append(int(np.clip(np.round(sub_rng.normal(38.0, 11.0)), 18, 65)))
        sexes.append("F" if sub_rng.random() < 0.5 else "M")
    return pd.DataFrame(
        {
            "participant_id": subject_ids(n),
            "diagnosis": diagnosis.astype(str),
            "age": np.array(ages, dtype=int),
            "sex": sexes,
            "site": site.astype(str),
            "has_fmri": has_fmri,
            "has_speech": has_speech,
        }
    )


def plan(spec: DemoSpec) -> pd.DataFrame:
    """The demo study's participants, without generating any data.

    Parameters
    ----------
    spec : DemoSpec
        The study specification.

    Returns
    -------
    pandas.DataFrame
        One row per subject with ``participant_id``, ``diagnosis`` (``patient``/``control``,
        as written to ``participants.tsv``, i.e. permuted when ``spec.shuffle_labels``),
        ``age``, ``sex`` (``M``/``F``), ``site``, ``has_fmri`` and ``has_speech``.
    """
    table = true_plan(spec)
    if spec.shuffle_labels:
        rng = rng_for(spec, STUDY, STUDY_SHUFFLE)
        table["diagnosis"] = table["diagnosis"].to_numpy()[rng.permutation(len(table))]
    return table


@dataclass(frozen=True)
class SubjectParams:
    """Hidden generating parameters of one subject (drawn by :func:`subject_parameters`).

    Attributes
    ----------
    participant_id, diagnosis, sex, site : str
        Identity; ``diagnosis`` is the true one.
    number, site_index : int
        1-based subject number and 0-based site index.
    patient : bool
        True diagnosis is ``patient``.
    motion_level : float
        Target mean framewise displacement (mm) of the BOLD run.
    network_gain : float
        Multiplier of the within-network coupling (individual differences).
    edge_gain : float
        Multiplier of the planted patient connectivity effect (0 for controls).
    f0_mean_hz, f0_sd_semitones : float
        Target voice pitch level and variability (realised values go to the ground truth).
    mean_pause_s : float
        Target mean duration of the silent pauses between utterances.
    articulation_rate : float
        Target syllables per second while speaking (pauses excluded).
    speech_seconds : float
        Target recording duration.
    """

    participant_id: str
    number: int
    diagnosis: str
    patient: bool
    sex: str
    site: str
    site_index: int
    motion_level: float
    network_gain: float
    edge_gain: float
    f0_mean_hz: float
    f0_sd_semitones: float
    mean_pause_s: float
    articulation_rate: float
    speech_seconds: float


def subject_parameters(spec: DemoSpec, table: pd.DataFrame | None = None) -> list[SubjectParams]:
    """Draw every subject's generating parameters (patients differ from controls).

    Parameters
    ----------
    spec : DemoSpec
        The study specification.
    table : pandas.DataFrame, optional
        The output of :func:`true_plan` (computed when omitted).

    Returns
    -------
    list of SubjectParams
        One entry per subject, in ``participant_id`` order.
    """
    table = true_plan(spec) if table is None else table
    sites = site_names(spec.n_sites)
    lo, hi = spec.speech_seconds
    out = []
    for number, row in enumerate(table.itertuples(index=False), start=1):
        rng = rng_for(spec, number, STREAM_PARAMS)
        rng.normal(), rng.random()  # age and sex, drawn in true_plan
        patient = row.diagnosis == "patient"
        # patients move more on average; lognormal, so the groups overlap substantially
        motion = float(np.exp(rng.normal(np.log(0.20 if patient else 0.12), 0.35)))
        network_gain = float(rng.uniform(0.8, 1.2))
        edge_gain = float(rng.uniform(0.75, 1.25)) if patient else 0.0
        if row.sex == "M":
            f0 = rng.normal(118.0, 13.0)
        else:
            f0 = rng.normal(208.0, 18.0)
        f0_sd = rng.normal(1.9 if patient else 2.7, 0.45)
        pause = rng.normal(0.85 if patient else 0.55, 0.14)
        rate = rng.normal(4.2 if patient else 4.9, 0.4)
        seconds = rng.uniform(lo, hi)
        out.append(
            SubjectParams(
                participant_id=row.participant_id,
                number=number,
                diagnosis=row.diagnosis,
                patient=bool(patient),
                sex=row.sex,
                site=row.site,
                site_index=sites.index(row.site),
                motion_level=float(np.clip(motion, 0.04, 0.8)),
                network_gain=network_gain,
                edge_gain=edge_gain,
                f0_mean_hz=float(np.clip(f0, 80.0, 280.0)),
                f0_sd_semitones=float(np.clip(f0_sd, 0.7, 4.5)),
                mean_pause_s=float(np.clip(pause, 0.35, 1.6)),
                articulation_rate=float(np.clip(rate, 3.0, 6.5)),
                speech_seconds=float(seconds),
            )
        )
    return out


#: Planted continuous symptom score (participants.tsv ``symptom_score``): a weighted sum of
#: the subject's drawn pause duration and articulation rate, standardised with the design's
#: population values (so a subject's score does not depend on the other subjects), plus noise.
SCORE_BASE = 20.0
SCORE_PAUSE = (0.70, 0.20)  # population mean and SD of mean_pause_s
SCORE_RATE = (4.55, 0.55)  # of articulation_rate (syllables per second)
SCORE_WEIGHT = 6.0  # points per population SD of each parameter
SCORE_NOISE_SD = 3.0


def symptom_score(spec: DemoSpec, params: SubjectParams) -> float:
    """The planted symptom score of one subject (rounded to 0.1; higher: more severe).

    ``SCORE_BASE + SCORE_WEIGHT * (z(pause) - z(rate)) + N(0, SCORE_NOISE_SD)``, with the z of
    the drawn (target) mean pause and articulation rate. Patients pause longer and speak
    slower, so the score is higher in patients, and within each group it tracks speech
    timing alone: a score that regression on the speech features should recover (r about
    0.9 with the generating values), and that the other modalities carry only through the
    diagnosis.
    """
    rng = rng_for(spec, params.number, STREAM_SCORE)
    pause = (params.mean_pause_s - SCORE_PAUSE[0]) / SCORE_PAUSE[1]
    rate = (params.articulation_rate - SCORE_RATE[0]) / SCORE_RATE[1]
    value = SCORE_BASE + SCORE_WEIGHT * (pause - rate) + rng.normal(0.0, SCORE_NOISE_SD)
    return round(float(value), 1)
