"""Generation of the whole demo study: per-subject files, BIDS metadata and ground truth."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.demo import anat, bold, transcript, voice
from psymodal.demo.spec import (
    N_DUMMY,
    SCORE_BASE,
    SCORE_NOISE_SD,
    SCORE_PAUSE,
    SCORE_RATE,
    SCORE_WEIGHT,
    STREAM_ANAT,
    STREAM_BOLD,
    STREAM_LANGUAGE,
    STREAM_VOICE,
    DemoSpec,
    SubjectParams,
    plan,
    rng_for,
    subject_parameters,
    symptom_score,
    true_plan,
)
from psymodal.demo.write import (
    MNI,
    PARTICIPANTS_JSON,
    SCANNER,
    write_nifti,
    write_text,
    write_wav,
)
from psymodal.io.tables import atomic_path, write_json, write_tsv

SPACE = "MNI152NLin2009cAsym"
TASK_BOLD = "rest"
TASK_SPEECH = "reading"

# per-process state for the workers (set by _init_worker or directly when serial)
_STATE: dict = {}


def _init_worker(spec, templates, edges, gm_reduction):
    # single-threaded BLAS in each worker (threadpoolctl directly: importing torch is slow)
    from threadpoolctl import threadpool_limits

    _STATE["threads"] = threadpool_limits(limits=1)
    _STATE.update(spec=spec, templates=templates, edges=edges, gm_reduction=gm_reduction)


def _subject(args: tuple[Path, SubjectParams, bool, bool]) -> dict:
    """Write one subject's files; return its ground-truth rows."""
    outdir, params, has_fmri, has_speech = args
    spec: DemoSpec = _STATE["spec"]
    templates: anat.Templates = _STATE["templates"]
    sub = params.participant_id
    raw_dir = outdir / sub
    prep = outdir / "derivatives" / "fmriprep" / sub
    out: dict = {"participant_id": sub}

    # anatomy (every subject)
    maps = anat.subject_anatomy(
        templates, params, rng_for(spec, params.number, STREAM_ANAT), _STATE["gm_reduction"]
    )
    write_nifti(
        raw_dir / "anat" / f"{sub}_T1w.nii.gz", maps["t1w_raw"], templates.affine, code=SCANNER
    )
    stem = f"{sub}_space-{SPACE}"
    write_nifti(
        prep / "anat" / f"{stem}_desc-preproc_T1w.nii.gz", maps["t1w_preproc"], templates.affine
    )
    write_nifti(
        prep / "anat" / f"{stem}_desc-brain_mask.nii.gz",
        templates.mask.astype(np.uint8),
        templates.affine,
    )
    write_nifti(prep / "anat" / f"{stem}_label-GM_probseg.nii.gz", maps["gm"], templates.affine)

    if has_fmri:
        sim = bold.simulate_bold(
            templates, params, _STATE["edges"], spec, rng_for(spec, params.number, STREAM_BOLD)
        )
        data = sim["bold"]
        func_stem = f"{sub}_task-{TASK_BOLD}"
        raw_bold = raw_dir / "func" / f"{func_stem}_bold.nii.gz"
        pstem = prep / "func" / f"{func_stem}_space-{SPACE}"
        preproc = write_nifti(
            f"{pstem}_desc-preproc_bold.nii.gz", data, templates.bold_affine, tr=spec.tr, code=MNI
        )
        # the "raw" run is a byte copy of the preprocessed one (documented in the README)
        with atomic_path(raw_bold) as tmp:
            shutil.copyfile(preproc, tmp)
        write_json(
            {"RepetitionTime": spec.tr, "TaskName": TASK_BOLD},
            raw_bold.with_name(f"{func_stem}_bold.json"),
        )
        write_json(
            {"RepetitionTime": spec.tr, "SkullStripped": False, "TaskName": TASK_BOLD},
            f"{pstem}_desc-preproc_bold.json",
        )
        write_nifti(
            f"{pstem}_desc-brain_mask.nii.gz",
            templates.bold_mask.astype(np.uint8),
            templates.bold_affine,
        )
        table, meta = bold.confounds(sim["masked"], sim["motion"], templates, spec)
        conf = prep / "func" / f"{func_stem}_desc-confounds_timeseries"
        write_tsv(table, f"{conf}.tsv")
        write_json(meta, f"{conf}.json")
        fd = table["framewise_displacement"].to_numpy()
        out["motion"] = {
            "participant_id": sub,
            "motion_level_target_mm": params.motion_level,
            "mean_fd_mm": float(np.nanmean(fd[N_DUMMY + 1 :])),
            "max_fd_mm": float(np.nanmax(fd[N_DUMMY + 1 :])),
            "n_fd_over_0p5": int(np.sum(fd[N_DUMMY + 1 :] > 0.5)),
        }

    if has_speech:
        audio, truth = voice.synthesize(params, rng_for(spec, params.number, STREAM_VOICE))
        audio_stem = raw_dir / "audio" / f"{sub}_task-{TASK_SPEECH}_audio"
        write_wav(f"{audio_stem}.wav", audio, voice.SAMPLE_RATE)
        write_json(
            {
                "SamplingFrequency": voice.SAMPLE_RATE,
                "TaskName": TASK_SPEECH,
                "RecordingDuration": round(len(audio) / voice.SAMPLE_RATE, 6),
            },
            f"{audio_stem}.json",
        )
        out["speech"] = {
            "participant_id": sub,
            **truth,
            "f0_mean_target_hz": params.f0_mean_hz,
            "f0_sd_target_semitones": params.f0_sd_semitones,
            "mean_pause_target_s": params.mean_pause_s,
            "articulation_rate_target": params.articulation_rate,
        }
        # the interview (language) transcript: its own random stream, no audio
        table, truth = transcript.interview(params, rng_for(spec, params.number, STREAM_LANGUAGE))
        name = f"{sub}_task-{transcript.TASK_INTERVIEW}_transcript.tsv"
        write_tsv(table, raw_dir / "audio" / name)
        out["language"] = {"participant_id": sub, **truth}
    return out


def generate(
    outdir: str | os.PathLike, spec: DemoSpec | None = None, *, n_jobs: int | None = None
) -> Path:
    """Generate the demo study into ``outdir`` (BIDS raw + fMRIPrep-style derivatives).

    Parameters
    ----------
    outdir : path-like
        Target folder; created if needed. Existing demo files are overwritten, other files are
        left alone.
    spec : DemoSpec, optional
        Study specification (default :class:`DemoSpec()`).
    n_jobs : int, optional
        Worker processes (default: up to 2, the CPU count). The output does not depend on it.

    Returns
    -------
    pathlib.Path
        ``outdir``.
    """
    spec = spec or DemoSpec()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    truth_plan = true_plan(spec)
    params = subject_parameters(spec, truth_plan)
    templates = anat.load_templates(spec)
    edges = bold.planted_edges(spec, templates)
    gm_reduction = anat.gm_reduction_map(templates)

    jobs = [
        (outdir, p, bool(row.has_fmri), bool(row.has_speech))
        for p, row in zip(params, truth_plan.itertuples(index=False), strict=True)
    ]
    if n_jobs is None:
        n_jobs = min(2, os.cpu_count() or 1)
    n_jobs = max(1, min(int(n_jobs), len(jobs)))
    if multiprocessing.current_process().daemon:  # daemonic processes cannot have children
        n_jobs = 1
    init = (spec, templates, edges, gm_reduction)
    if n_jobs == 1:
        from threadpoolctl import threadpool_limits

        saved = dict(_STATE)
        _STATE.update(spec=spec, templates=templates, edges=edges, gm_reduction=gm_reduction)
        try:
            with threadpool_limits(limits=1):
                results = [_subject(job) for job in jobs]
        finally:
            _STATE.clear()
            _STATE.update(saved)
    else:
        with ProcessPoolExecutor(n_jobs, initializer=_init_worker, initargs=init) as pool:
            results = list(pool.map(_subject, jobs, chunksize=1))

    _write_study_files(outdir, spec, truth_plan, params, edges, results, templates)
    return outdir


def _write_study_files(outdir, spec, truth_plan, params, edges, results, templates):
    table = plan(spec)
    table["symptom_score"] = [symptom_score(spec, p) for p in params]
    write_tsv(
        table[["participant_id", "diagnosis", "age", "sex", "site", "symptom_score"]],
        outdir / "participants.tsv",
    )
    write_json(PARTICIPANTS_JSON, outdir / "participants.json")
    write_json(
        {
            "Name": "psymodal demo study (synthetic)",
            "BIDSVersion": "1.10.0",
            "DatasetType": "raw",
            "License": "CC0",
            "Authors": ["psymodal developers"],
            "GeneratedBy": [{"Name": "psymodal.demo", "Description": _spec_text(spec)}],
        },
        outdir / "dataset_description.json",
    )
    write_text(outdir / ".bidsignore", "ground_truth/\n**/audio/\n")
    write_text(outdir / "README", _readme(spec, table))
    write_json(
        {
            "Name": "fMRIPrep-style derivatives of the psymodal demo study (simulated)",
            "BIDSVersion": "1.10.0",
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "psymodal.demo", "Description": "simulated, not fMRIPrep"}],
        },
        outdir / "derivatives" / "fmriprep" / "dataset_description.json",
    )

    gt = outdir / "ground_truth"
    write_tsv(edges.drop(columns=["index_a", "index_b"]), gt / "connectivity.tsv")
    speech_rows = [r["speech"] for r in results if "speech" in r]
    speech = pd.DataFrame(speech_rows)
    meta = truth_plan[["participant_id", "diagnosis", "sex", "site"]]
    speech = meta.merge(speech, on="participant_id", how="inner")
    write_tsv(speech, gt / "speech_parameters.tsv")
    language = pd.DataFrame([r["language"] for r in results if "language" in r])
    write_tsv(
        meta.merge(language, on="participant_id", how="inner"), gt / "language_parameters.tsv"
    )
    motion = pd.DataFrame([r["motion"] for r in results if "motion" in r])
    subjects = truth_plan.copy()
    subjects.insert(2, "diagnosis_in_participants_tsv", table["diagnosis"].to_numpy())
    subjects["network_gain"] = [p.network_gain for p in params]
    subjects["edge_gain"] = [p.edge_gain for p in params]
    subjects["symptom_score"] = table["symptom_score"].to_numpy()
    subjects = subjects.merge(motion, on="participant_id", how="left")
    write_tsv(subjects, gt / "subjects.tsv")
    gm = pd.DataFrame(
        {
            "region": list(anat.GM_REDUCTION_REGIONS),
            "radius_mm": anat.GM_REDUCTION_RADIUS_MM,
            "max_reduction_fraction": anat.GM_REDUCTION,
        }
    )
    write_tsv(gm, gt / "gm_reduction.tsv")
    write_text(gt / "README.md", _truth_readme(spec, edges))


def _spec_text(spec: DemoSpec) -> str:
    return (
        f"DemoSpec(n_subjects={spec.n_subjects}, n_sites={spec.n_sites}, seed={spec.seed}, "
        f"n_volumes={spec.n_volumes}, tr={spec.tr:g}, voxel_mm={spec.voxel_mm:g}, "
        f"speech_seconds=({spec.speech_seconds[0]:g}, {spec.speech_seconds[1]:g}), "
        f"shuffle_labels={spec.shuffle_labels})"
    )


def _readme(spec: DemoSpec, table: pd.DataFrame) -> str:
    no_fmri = ", ".join(table.loc[~table["has_fmri"], "participant_id"]) or "none"
    no_speech = ", ".join(table.loc[~table["has_speech"], "participant_id"]) or "none"
    null = (
        "\nLABELS ARE SHUFFLED: the diagnosis column was permuted after generation, so it "
        "carries no signal (a null study).\n"
        if spec.shuffle_labels
        else ""
    )
    return f"""psymodal demo study
===================

A SYNTHETIC multimodal psychiatric study generated by `psymodal.demo` ({_spec_text(spec)}).
No real person is involved. Every effect is planted and documented in ground_truth/README.md.
{null}
Contents
- participants.tsv: {len(table)} participants, patients and controls, {spec.n_sites} site(s).
- sub-XX/anat/sub-XX_T1w.nii.gz: T1-weighted image (MNI152 template with per-subject
  intensity scaling, bias field and noise; already in MNI space).
- sub-XX/func/sub-XX_task-rest_bold.nii.gz: resting-state BOLD, {spec.n_volumes} volumes,
  TR {spec.tr:g} s, {spec.voxel_mm:g} mm. NOTE: the "raw" run is a byte-for-byte copy of the
  fMRIPrep-style preprocessed run (same simulated data, same MNI grid, MNI header codes);
  it exists for layout completeness, not as a native-space acquisition.
- sub-XX/audio/sub-XX_task-reading_audio.wav: 16 kHz mono reading-task recording
  (psymodal's convention; BIDS has no audio datatype yet, hence .bidsignore).
- sub-XX/audio/sub-XX_task-interview_transcript.tsv: a timed interview transcript (onset,
  duration, word, speaker; the interviewer's turns are marked), without a recording.
- derivatives/fmriprep/: preprocessed BOLD, brain masks, confounds (fMRIPrep column names),
  preprocessed T1w and grey-matter probability maps, all in {SPACE}.
- ground_truth/: planted effects (ignored by BIDS validators).

Missing data (on purpose): no fMRI for {no_fmri}; no speech for {no_speech}.
The first {N_DUMMY} volumes of every BOLD run are non-steady-state (flagged in the confounds).
"""


def _truth_readme(spec: DemoSpec, edges: pd.DataFrame) -> str:
    edge_lines = "\n".join(
        f"| {e.edge} | {e.network_a} | {e.network_b} | {e.control_r:.2f} | {e.patient_r:.2f} |"
        for e in edges.itertuples(index=False)
    )
    return f"""# Ground truth of the psymodal demo study

Generated by `psymodal.demo` with {_spec_text(spec)}. Everything below is planted by the
generator; nothing else differs systematically between patients and controls.
{
        "**Labels are shuffled** in participants.tsv (null study); subjects.tsv keeps the true"
        " diagnosis used for generation."
        if spec.shuffle_labels
        else ""
    }

## Files
- `connectivity.tsv`: planted edges (`regionA__regionB`, atlas order of the default
  Dosenbach-160 atlas), their networks, model correlation in controls (`control_r`), mean
  increase in patients (`delta_r`) and resulting patient correlation (`patient_r`).
- `speech_parameters.tsv`: per subject with speech, the REALISED generating values measured
  on the synthesised signal's schedule and F0 contour, plus the drawn targets (`*_target*`).
- `subjects.tsv`: true diagnosis, the label written to participants.tsv, modalities, network
  and edge gains, target and realised motion (mean/max framewise displacement after the
  non-steady-state volumes, number of FD > 0.5 mm volumes).
- `gm_reduction.tsv`: regions of reduced grey matter in patients.

## Symptom score (participants.tsv `symptom_score`, a continuous target)
`symptom_score = {SCORE_BASE:g} + {SCORE_WEIGHT:g} x (z(mean pause) - z(articulation rate))
+ N(0, {SCORE_NOISE_SD:g})`, rounded to 0.1, from each subject's drawn speech targets
(`mean_pause_s`, `articulation_rate`; z with population values mean/SD
{SCORE_PAUSE[0]:g}/{SCORE_PAUSE[1]:g} s and {SCORE_RATE[0]:g}/{SCORE_RATE[1]:g} syll/s). It is
higher in patients (who pause longer and speak slower) and, within a group, follows speech
timing only: `learn.task: regression` on the speech features should recover it; fMRI and
anatomy carry it only through the diagnosis. Also in `subjects.tsv`. Not shuffled with
the labels.

## fMRI (resting state)
Region time series follow a network model: each region = global component (variance share
{bold.A_GLOBAL}) + its network's component ({bold.A_NETWORK} x a per-subject gain in
0.8-1.2) + region-specific part; all AR(1) with phi = {bold.AR_PHI} at the volume level.
Model correlation is {bold.A_GLOBAL} between networks and about
{bold.A_GLOBAL + bold.A_NETWORK:.2f} within a network.

**Planted effect**: in patients, each edge below shares an extra component, raising its
correlation by {bold.EDGE_DELTA} x a per-patient gain in 0.75-1.25 (mean +{bold.EDGE_DELTA}).
Regions of different edges are disjoint. Measured correlations are somewhat lower
(thermal noise, physiological noise, motion, partial volume) until denoised.

| edge | network A | network B | control r | patient r |
|---|---|---|---|---|
{edge_lines}

Voxel signal = tissue/site baseline x (1 + {bold.NEURAL_PCT}% x region signal x grey-matter
weight + physiological noise (strongest in CSF) + slow drift + motion artefact) + thermal
noise, rounded to integer intensities (stored as float32). Non-atlas grey matter carries the
global component plus voxel-specific noise.

**Motion (a confound)**: a per-subject trace of 6 realignment parameters (mean-reverting
random walk, drift and sudden jerks), scaled to a target mean framewise displacement drawn
log-normally with median 0.20 mm in patients and 0.12 mm in controls (overlapping groups).
Its effect is written into the BOLD: signal linear in the parameters with a spatial
gradient ({bold.MOTION_GRADIENT:g} per mm at the field-of-view edge) and a global intensity
drop of {bold.FD_DROP:g} x FD (more at the brain edge). Without confound regression, motion
(and so diagnosis) inflates correlations across the whole connectome; the 24 motion
regressors plus WM/CSF signals remove most of it.

**Non-steady state**: the first {N_DUMMY} volumes are brighter (x{bold.DUMMY_GAIN[0]},
x{bold.DUMMY_GAIN[1]}) and flagged as `non_steady_state_outlier_XX`.

**Site effects**: per site, intensity scaling {bold.SITE_SCALE[: spec.n_sites]}, additive
offset {bold.SITE_OFFSET[: spec.n_sites]} and thermal-noise level (fraction of the mean)
{bold.SITE_NOISE[: spec.n_sites]} (values cycle when there are more sites). Diagnosis is
balanced across sites.

**Confounds** are computed from the simulated run as fMRIPrep would: global signal, CSF
(CSF probability > 0.6) and white matter (WM probability > 0.9) means with derivative and
power variants; DVARS and standardised DVARS (Nichols 2013 approximation); framewise
displacement (Power 2012, rotations on a 50 mm sphere; first row n/a); aCompCor (WM+CSF,
after cosine high-pass, steady-state volumes only); fMRIPrep's 128 s cosine basis
(steady-state volumes); non-steady-state outlier indicators; `motion_outlierXX` indicators
(FD > 0.5 mm or standardised DVARS > 1.5, as fMRIPrep); the 6 motion parameters with
derivative/power variants.

## Anatomy
T1w = nilearn's MNI152 (2009) template x tissue scaling (0.9-1.1) x smooth bias field
(raw only; removed in `desc-preproc`) + noise; stored as int16 (template x 1000).
Grey-matter probability = MNI152 GM template x smooth field (about 3%); **patients** have a
planted reduction (up to {anat.GM_REDUCTION:.0%}, Gaussian profile within
{anat.GM_REDUCTION_RADIUS_MM:g} mm) around {", ".join(anat.GM_REDUCTION_REGIONS)}.

## Speech (reading task)
Source-filter synthesis at {voice.SAMPLE_RATE} Hz: Rosenberg glottal pulses (jitter 0.6%,
shimmer 4%) through four formant resonators with per-syllable vowel targets; onsets are
fricatives (band-passed noise), stop closures with bursts, or nasal murmurs. Syllables form
words (1-3 syllables), words form utterances (3-8 words) separated by silent pauses (at least
{voice.MIN_PAUSE_S} s; only background noise). {voice.EDGE_SILENCE_S} s of silence start and
end each recording and are NOT counted as pauses.

| parameter | controls | patients |
|---|---|---|
| F0 mean (Hz) | M ~ N(118, 13), F ~ N(208, 18) | same |
| F0 SD (semitones) | N(2.7, 0.45) | N(1.9, 0.45) (flatter prosody) |
| mean pause (s) | N(0.55, 0.14) | N(0.85, 0.14) (longer pauses) |
| articulation rate (syll/s, target) | N(4.9, 0.4) | N(4.2, 0.4) (slower) |

Realised columns of `speech_parameters.tsv`:
- `f0_mean_hz`, `f0_sd_hz`: mean and SD of F0 over voiced 10 ms frames (vowels and nasal
  murmurs); `f0_sd_semitones`: SD of 12*log2(F0) over the same frames.
- `pause_ratio` = total pause time between utterances / total duration; `mean_pause_s`,
  `n_pauses`.
- `speech_rate_syll_per_s` = syllables / total duration; `articulation_rate` = syllables /
  phonation time (sum of utterance durations); `n_syllables`, `duration_s`.
- `speaking_span_s` (first syllable onset to last syllable offset, i.e. without the edge
  silences), `pause_ratio_span` = pause time / span, `speech_rate_span_syll_per_s` =
  syllables / span: the same measures for extractors that exclude leading/trailing silence.

Site effects: background noise at {voice.SITE_SNR_DB[: spec.n_sites]} dB below the speech
RMS, peak level {voice.SITE_PEAK[: spec.n_sites]}, channel band limits (Hz)
{voice.SITE_CHANNEL[: spec.n_sites]}.

## Language (interview transcripts)
Every participant with speech has `sub-XX/audio/sub-XX_task-interview_transcript.tsv`: six
interviewer questions (speaker `interviewer`) each answered by 4-6 template sentences about
everyday topics (speaker `participant`), with word timings (word gaps 0.04-0.15 s, pauses of
0.6-1.4 s between sentences, so each sentence is an utterance). Each subject draws its own
rates; the groups overlap.

| parameter (probability) | controls | patients |
|---|---|---|
| topic switch per sentence | N(0.2, 0.1) | N(0.45, 0.15) (lower semantic coherence) |
| sentence subject `I`/`my friend` | N(0.2, 0.08) | N(0.35, 0.12) (more first-person singular) |
| sentence subject `we` | N(0.22, 0.08) | N(0.12, 0.06) |
| filler (`um`, `uh`, `er`) before a word | N(0.02, 0.012) | N(0.05, 0.025) (more fillers) |
| second clause in a sentence | N(0.65, 0.15) | N(0.35, 0.15) (shorter utterances) |

`language_parameters.tsv` holds the drawn probabilities and the realised `n_sentences`,
`n_words` (fillers excluded), `n_fillers`, `mean_sentence_words`,
`first_person_singular_rate` (`i` and `my` per word) and `filler_rate` (fillers per token).
Tangentiality is not planted: the demo configurations give the six questions as the
interview's prompt (`language.prompts`), and the answers' topics are drawn independently of
them, so `prompt_similarity` and `tangentiality_slope` carry no group difference.
"""
