"""The ``psymodal`` command line: every workflow step, callable without Snakemake.

Heavy imports happen inside the sub-commands so that ``psymodal --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from psymodal import __version__

DESCRIPTION = """\
psymodal: reproducible multimodal (fMRI + speech) classification for psychiatric research.

The whole pipeline runs as a Snakemake workflow (`snakemake -c2` in the repository);
each step is also a sub-command here, so the library can be used without Snakemake.

typical use:
  psymodal bids-app BIDS_DIR OUT group      # the whole workflow, BIDS-App style, from any folder
  psymodal demo resources/demo              # write the embedded demo study (BIDS + fMRIPrep-style)
  psymodal atlas results/atlas              # write the default offline atlas
  psymodal mri --subjects sub-01 ...        # parcellated time series, connectomes, QC
  psymodal speech --subjects sub-01 ...     # speech features and QC
  psymodal language --subjects sub-01 ...   # language features (transcripts or offline ASR)
  psymodal collect OUT.tsv IN1.tsv IN2.tsv  # stack one-row-per-subject tables
  psymodal learn --participants ... --features mri=... speech=... --out-dir results/learn
  psymodal audit results --expect sha256:...  # checksums, run digest, recomputed metrics
  psymodal anonymize-speech rec.wav --out-dir shared/  # McAdams voice anonymisation for sharing
  psymodal anonymize bids/ shareable/ --key-file ~/keys/study.key  # the shareable copy of a study
  psymodal share-features participants.tsv shared/ --features mri=... --key-file KEY  # tables
"""


def _settings(text: str | None) -> dict:
    if not text:
        return {}
    path = Path(text)
    if path.suffix in {".json", ".yaml", ".yml"} and path.exists():
        import yaml

        return yaml.safe_load(path.read_text()) or {}
    return json.loads(text)


def _pairs(items: list[str] | None, flag: str) -> dict[str, Path]:
    out = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep:
            raise SystemExit(f"psymodal: {flag} expects MODALITY=PATH, got {item!r}")
        out[name] = Path(path)
    return out


def _cmd_demo(args) -> int:
    from psymodal.demo import generate
    from psymodal.io.tables import write_json
    from psymodal.workflow.plan import demo_flag_for, demo_spec_from_config

    settings = _settings(args.settings)
    overrides = {
        "n_subjects": args.n_subjects,
        "n_sites": args.n_sites,
        "seed": args.seed,
        "small": args.small or None,
        "shuffle_labels": args.shuffle_labels or None,
    }
    settings.update({k: v for k, v in overrides.items() if v is not None})
    spec = demo_spec_from_config(settings)
    out = generate(args.outdir, spec)
    # written last: the workflow treats its presence as "the demo study is complete"
    flag = demo_flag_for(args.outdir)
    write_json({"generator": "psymodal.demo", "spec": spec.__dict__}, flag)
    print(f"demo study written to {out}")
    return 0


def _participant_rows(path) -> dict:
    """participant_id -> participants.tsv row (empty without a table)."""
    if not path:
        return {}
    from psymodal.io.tables import read_tsv

    table = read_tsv(path, dtype={"participant_id": str})
    return {row["participant_id"]: row for _, row in table.iterrows()}


def _write_batch_tables(args, outputs: list[dict]) -> None:
    """Stack the subjects' one-row tables per modality: ``<modality>_batch-<N>_<kind>.tsv``."""
    from psymodal.io.tables import stack_rows
    from psymodal.workflow.stage_tables import KINDS, batch_table

    if args.batch_dir is None:
        return
    for modality in sorted({m for written in outputs for m in written}):
        for kind in KINDS:
            stack_rows(
                [written[modality][kind] for written in outputs if modality in written],
                batch_table(args.batch_dir, modality, args.batch, kind),
            )


def _cmd_describe(args) -> int:
    from psymodal.provenance.manifest import write_dataset_description

    print(write_dataset_description(args.results_dir))
    return 0


def _cmd_config(args) -> int:
    from psymodal.settings import resolve_config
    from psymodal.settings.record import config_yaml

    effective = resolve_config(_settings(str(args.config)))
    print(config_yaml(effective), end="")
    return 0


def _cmd_import_participants(args) -> int:
    from psymodal.workflow.participants import import_participants

    if args.config:
        from psymodal.settings import resolve_config

        config = resolve_config(_settings(args.config))
        dataset, atlas = config["dataset"], config["mri"]["timeseries"]["atlas_name"]
    else:
        dataset, atlas = _settings(args.dataset), args.atlas_name
    print(import_participants(dataset, args.output, atlas))
    return 0


def _cmd_record_config(args) -> int:
    from psymodal.workflow.plan import write_run_config

    print(write_run_config(_settings(args.config)))
    return 0


def _cmd_atlas(args) -> int:
    from psymodal.mri.atlas import load_atlas, write_atlas

    atlas = load_atlas(_settings(args.settings))
    nii, tsv = write_atlas(atlas, args.outdir)
    print(f"atlas written to {nii} and {tsv}")
    return 0


def _cmd_mri(args) -> int:
    from psymodal.mri.atlas import load_atlas_from_path
    from psymodal.mri.settings import fill_settings
    from psymodal.mri.sources import MriSource, process_mri_subject
    from psymodal.workflow.progress import track
    from psymodal.workflow.threads import limit_threads

    limit_threads(1)
    atlas = None
    if args.atlas:
        atlas = load_atlas_from_path(args.atlas, args.atlas_labels, name=args.atlas_name)
    settings = fill_settings(_settings(args.settings))
    source = MriSource(
        kind=args.input,
        bids_dir=args.bids_dir,
        fmriprep_dir=args.fmriprep_dir,
        timeseries_dir=args.timeseries_dir,
        timeseries_pattern=args.timeseries_pattern or MriSource.timeseries_pattern,
        participants=args.participants,
    )
    participants = _participant_rows(args.participants)
    outputs = []
    for subject in track(args.subjects, "mri"):
        with _naming_subject("mri", subject):
            outputs.append(
                process_mri_subject(
                    subject,
                    source,
                    atlas,
                    args.out_dir,
                    settings,
                    participants.get(subject),
                    strict=args.strict,
                )
            )
    _write_batch_tables(args, outputs)
    return 0


@contextmanager
def _naming_subject(command: str, subject: str):
    """On an error, say which subject was being processed (the log shows it above the error)."""
    try:
        yield
    except BaseException:
        print(f"psymodal {command}: failed on {subject}", file=sys.stderr)
        raise


def _cmd_speech(args) -> int:
    from psymodal.settings import resolve_section
    from psymodal.speech import paths as speech_paths
    from psymodal.speech.pipeline import find_recordings, process_subject, recordings_searched
    from psymodal.workflow.plan import speech_outputs
    from psymodal.workflow.progress import track
    from psymodal.workflow.threads import limit_threads

    limit_threads(1)
    settings = resolve_section("speech", _settings(args.settings))
    outputs = []
    for subject in track(args.subjects, "speech"):
        paths = speech_outputs(subject, args.out_dir, settings)
        with _naming_subject("speech", subject):
            process_subject(
                subject,
                find_recordings(args.bids_dir, subject, settings["task"]),
                paths["features"],
                paths["qc"],
                settings,
                figure_dir=speech_paths.figure_dir(args.out_dir, subject),
                dataset_dir=args.bids_dir,
                searched=recordings_searched(subject, settings["task"]),
                strict=args.strict,
            )
        outputs.append({"speech": paths})
    _write_batch_tables(args, outputs)
    return 0


def _cmd_language(args) -> int:
    from psymodal.language.paths import subject_outputs
    from psymodal.language.pipeline import process_subject, sources_searched
    from psymodal.language.transcripts import find_sources
    from psymodal.settings import resolve_section
    from psymodal.workflow.progress import track
    from psymodal.workflow.threads import limit_threads

    limit_threads(1)
    settings = resolve_section("language", _settings(args.settings))
    outputs = []
    for subject in track(args.subjects, "language"):
        paths = subject_outputs(subject, args.out_dir, settings["task"])
        with _naming_subject("language", subject):
            process_subject(
                subject,
                find_sources(args.bids_dir, subject, settings["task"]),
                paths["features"],
                paths["qc"],
                settings,
                out_dir=args.out_dir,
                dataset_dir=args.bids_dir,
                searched=sources_searched(subject, settings["task"]),
                strict=args.strict,
            )
        outputs.append({"language": paths})
    _write_batch_tables(args, outputs)
    return 0


def _cmd_anonymize_speech(args) -> int:
    from psymodal.speech.anonymize import anonymize_file
    from psymodal.workflow.threads import limit_threads

    limit_threads(1)
    names = [Path(p).name for p in args.inputs]
    if len(set(names)) < len(names):
        raise ValueError("two inputs share a file name; anonymise them into separate folders")
    for path in args.inputs:
        target = args.out_dir / (Path(path).stem + f".{args.format}")
        anonymize_file(
            path, target, alpha=args.alpha, frame_s=args.frame_s, lpc_order=args.lpc_order
        )
        print(target)
    return 0


def _cmd_anonymize(args) -> int:
    from psymodal.privacy.pseudonyms import read_key
    from psymodal.privacy.study import anonymize_study
    from psymodal.settings import resolve_section
    from psymodal.workflow.threads import limit_threads

    limit_threads(1)
    settings = resolve_section("anonymize", _settings(args.settings))
    key_file = args.key_file or settings["key_file"]
    if key_file is None:
        raise ValueError("no pseudonym key: give --key-file (or anonymize.key_file)")
    mapping = args.mapping_file or settings["mapping_file"]
    summary = anonymize_study(
        args.study,
        args.out_dir,
        read_key(key_file),
        settings,
        fmriprep_dir=args.fmriprep_dir,
        mapping_file=mapping,
        key_file=key_file,
    )
    for line in summary["log"]:
        print(line)
    print(
        f"{summary['participants']} participants; shared: {summary['shared']}; "
        f"withheld: {summary['withheld']}"
    )
    return 0


def _cmd_share_features(args) -> int:
    from psymodal.privacy.features import share_features
    from psymodal.privacy.linkage_risk import measure_for_share
    from psymodal.privacy.pseudonyms import read_key
    from psymodal.settings import resolve_section
    from psymodal.workflow.threads import limit_threads

    limit_threads(1)
    settings = resolve_section("anonymize", _settings(args.settings))
    key_file = args.key_file or settings["key_file"]
    if key_file is None:
        raise ValueError("no pseudonym key: give --key-file (or anonymize.key_file)")
    if args.out_dir.resolve() in Path(key_file).resolve().parents:
        raise ValueError(f"{key_file}: the key may not lie inside the shared folder {args.out_dir}")
    tables = _pairs(args.features, "--features")
    measured = measure_for_share(
        tables,
        timeseries_dir=args.timeseries_dir,
        recordings_dir=args.recordings_dir,
        speech_settings=_settings(args.speech_settings),
    )
    written = share_features(
        args.participants, tables, args.out_dir, read_key(key_file), settings, measured
    )
    for path in written.values():
        print(path)
    return 0


def _cmd_pseudonym_key(args) -> int:
    from psymodal.privacy.pseudonyms import write_key

    print(write_key(args.path, seed=args.demo_seed))
    return 0


def _cmd_collect(args) -> int:
    from psymodal.io.tables import stack_rows

    print(f"{stack_rows(args.inputs, args.output)} rows written to {args.output}")
    return 0


def _cmd_learn(args) -> int:
    from joblib import parallel_config

    from psymodal.learn.pipeline import run

    # learn.cv.n_jobs null leaves joblib's n_jobs to this context (a number in the settings
    # wins); the settings, and so run_info.json, stay the same whatever the core count
    with parallel_config(n_jobs=args.n_jobs or 1):
        written = run(
            args.participants,
            _pairs(args.features, "--features"),
            _pairs(args.qc, "--qc"),
            args.out_dir,
            _settings(args.settings),
        )
    for path in written.values():
        print(path)
    return 0


def _cmd_predict(args) -> int:
    from psymodal.learn.final_model import predict_folder, predict_tables

    if (args.study is None) == (args.participants is None):
        raise SystemExit("psymodal predict: give a STUDY folder or --participants and --features")
    if args.study is not None:
        written = predict_folder(args.model, args.study, args.out_dir)
    else:
        written = predict_tables(
            args.model,
            args.participants,
            _pairs(args.features, "--features"),
            _pairs(args.qc, "--qc"),
            args.out_dir,
        )
    for path in written.values():
        print(path)
    return 0


def _cmd_manifest(args) -> int:
    from psymodal.provenance.manifest import (
        earliest_log_time,
        now_iso,
        read_manifest,
        run_digest,
        study_inputs,
        write_manifest,
    )

    run_dir, stage_dirs = args.run_dir, _pairs(args.stage_dirs, "--stage-dirs")
    latest = args.results_dir / "LATEST"
    if run_dir is None and latest.is_file():
        run_dir = args.results_dir / "runs" / latest.read_text().strip()
    recorded = (run_dir or args.results_dir) / "provenance" / "config.yaml"
    if args.config is None and not recorded.is_file():
        print(f"psymodal manifest: error: no --config and no {recorded}", file=sys.stderr)
        return 2
    # as recorded: the workflow's provenance/config.yaml already holds the effective settings
    config = _settings(args.config or str(recorded))
    if run_dir is not None and not stage_dirs:
        # versioned layout, by hand: the stage folders of this config
        from psymodal.workflow.plan import StudyPlan

        plan = StudyPlan.from_config(config)
        stage_dirs = {m: args.results_dir / plan.stage_dir(m).name for m in plan.modalities}
    inputs = args.inputs if args.inputs is not None else study_inputs(config)
    seeds = json.loads(args.seeds) if args.seeds else None
    started = args.started
    if started == "auto":
        started = earliest_log_time(run_dir if run_dir is not None else args.results_dir)
    ended = now_iso() if args.ended == "now" else args.ended
    path = write_manifest(
        args.results_dir,
        config,
        inputs,
        seeds,
        started,
        ended,
        run_dir=run_dir,
        stage_dirs=stage_dirs,
    )
    print(path)
    print(f"run digest: {run_digest(read_manifest(path))}")
    return 0


def _cmd_sign(args) -> int:
    from psymodal.provenance.integrity import sign_manifest
    from psymodal.provenance.manifest import find_manifest, read_manifest, run_digest

    manifest_file, _ = find_manifest(args.results_dir)
    signature = sign_manifest(manifest_file, args.key)
    print(signature)
    digest = run_digest(read_manifest(manifest_file))
    print(f"signed manifest {manifest_file} (run digest: {digest})")
    return 0


def _cmd_audit(args) -> int:
    from psymodal.provenance.audit import audit

    if args.subjects is not None and not args.rerun:
        print("psymodal audit: error: --subjects needs --rerun", file=sys.stderr)
        return 2
    if args.seed is not None and args.subjects is None:
        print("psymodal audit: error: --seed needs --rerun --subjects", file=sys.stderr)
        return 2
    if (args.allowed_signers is None) != (args.identity is None):
        message = "--allowed-signers and --identity go together"
        print(f"psymodal audit: error: {message}", file=sys.stderr)
        return 2
    report = audit(
        args.results_dir,
        rerun=args.rerun,
        subjects=args.subjects,
        verify_inputs=not args.no_inputs,
        strict=args.strict,
        cores=args.cores,
        snakefile=args.snakefile,
        keep=args.keep,
        expect=args.expect,
        allowed_signers=args.allowed_signers,
        identity=args.identity,
        recompute=not args.no_recompute,
        relearn_stage=args.relearn,
        seed=args.seed,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        print("\n".join(report.lines()))
    if args.report is not None:
        from psymodal.io.tables import atomic_write

        text = report.document()
        atomic_write(args.report, lambda tmp: tmp.write_text(text))
        print(f"report written to {args.report}", file=sys.stderr)
    return report.exit_code


def _cmd_figures(args) -> int:
    from psymodal.report.figures import write_report_figures

    written = write_report_figures(
        args.results_dir,
        args.out_dir,
        mri_settings=_settings(args.mri_settings),
        speech_settings=_settings(args.speech_settings),
        qc_tables=_pairs(args.qc, "--qc") or None,
    )
    for path in written:
        print(path)
    return 0


def _cmd_connectome_figures(args) -> int:
    from psymodal.learn.paths import run_file
    from psymodal.report.connectome import write_connectome_figures
    from psymodal.report.paths import figures_dir

    importance = run_file(args.run_dir, "importance")
    if not importance.exists():
        raise FileNotFoundError(f"{importance} not found (run learn with explain.enabled)")
    out = args.out_dir or figures_dir(args.run_dir)
    for path in write_connectome_figures(importance, args.atlas_labels, out, top_k=args.top_k):
        print(path)
    return 0


def _cmd_qc_gallery(args) -> int:
    from psymodal.report.qc_gallery import qc_gallery

    stage = args.stage_dir or args.qc_table.parent.parent
    path = qc_gallery(
        args.qc_table,
        stage,
        args.out,
        modality=args.modality,
        max_embedded=args.max_embedded,
        pages_dir=args.pages_dir,
    )
    print(path)
    return 0


def _batch_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--strict",
        action="store_true",
        help="an unusable input stops the command (default: it excludes its subject, with the "
        "error as the QC reason)",
    )
    p.add_argument(
        "--batch-dir", type=Path, help="also stack the subjects' features and QC rows here"
    )
    p.add_argument("--batch", default="0", help="batch index used in the stacked tables' names")


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="write the embedded synthetic demo study")
    p.add_argument("outdir", type=Path, help="folder for the BIDS dataset (created)")
    p.add_argument("--n-subjects", type=int, help="number of participants (default 40)")
    p.add_argument("--n-sites", type=int, help="number of acquisition sites (default 2)")
    p.add_argument("--seed", type=int, help="random seed (default 42)")
    p.add_argument("--small", action="store_true", help="small, fast variant used by the tests")
    p.add_argument("--settings", help="the config's dataset.demo section as JSON or a file")
    p.add_argument("--shuffle-labels", action="store_true", help="permute diagnoses: a null study")
    p.set_defaults(func=_cmd_demo)


def _add_atlas(sub) -> None:
    p = sub.add_parser("atlas", help="write the configured atlas (labels image + names)")
    p.add_argument("outdir", type=Path)
    p.add_argument("--settings", help="atlas settings as JSON or a YAML/JSON file")
    p.set_defaults(func=_cmd_atlas)


def _add_mri(sub) -> None:
    p = sub.add_parser("mri", help="fMRI: parcellated time series, connectivity features, QC")
    p.add_argument("--subjects", nargs="+", required=True, help="participant ids (sub-XX)")
    p.add_argument(
        "--input",
        choices=["fmriprep", "raw", "timeseries"],
        default="fmriprep",
        help="fMRIPrep derivatives (default), raw BIDS BOLD, or ready region time series",
    )
    p.add_argument("--bids-dir", type=Path, required=True)
    p.add_argument("--fmriprep-dir", type=Path, help="fMRIPrep derivatives folder")
    p.add_argument("--timeseries-dir", type=Path, help="folder of ready time series")
    p.add_argument(
        "--timeseries-pattern",
        help="a subject's file(s) in --timeseries-dir: {label}, {participant_id}, {atlas}, "
        "--participants columns, globs",
    )
    p.add_argument("--participants", type=Path, help="participants.tsv (site, mean_fd)")
    p.add_argument("--atlas", type=Path, help="labels image (.nii.gz); not for time series")
    p.add_argument("--atlas-labels", type=Path, help="TSV with index and name columns")
    p.add_argument("--atlas-name", help="atlas name used in file names")
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--settings", help="the config's mri section as JSON or a YAML/JSON file")
    _batch_arguments(p)
    p.set_defaults(func=_cmd_mri)


def _add_speech(sub) -> None:
    p = sub.add_parser("speech", help="speech features and QC per subject")
    p.add_argument("--subjects", nargs="+", required=True, help="participant ids (sub-XX)")
    p.add_argument("--bids-dir", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--settings", help="the config's speech section as JSON or a YAML/JSON file")
    _batch_arguments(p)
    p.set_defaults(func=_cmd_speech)


def _cmd_import_audio(args) -> int:
    from psymodal.speech.import_audio import import_audio

    written = import_audio(
        args.recordings,
        args.table,
        args.out_dir,
        file_column=args.file_column,
        id_column=args.id_column,
        task=args.task,
        copy=args.copy,
    )
    print(f"BIDS dataset written: {written}")
    return 0


def _add_import_audio(sub) -> None:
    p = sub.add_parser(
        "import-audio",
        help="a folder of recordings plus a label table -> a BIDS dataset for the speech stage",
    )
    p.add_argument("recordings", type=Path, help="folder of .wav/.flac/.ogg recordings")
    p.add_argument("table", type=Path, help="CSV/TSV: one row per recording, with its labels")
    p.add_argument("out_dir", type=Path, help="the BIDS dataset to write (dataset.bids_dir)")
    p.add_argument("--file-column", default="file", help="recording path column (file)")
    p.add_argument("--id-column", default="participant_id", help="participant column")
    p.add_argument("--task", default="speech", help="BIDS task label (speech)")
    p.add_argument("--copy", action="store_true", help="copy the recordings (default: links)")
    p.set_defaults(func=_cmd_import_audio)


def _add_language(sub) -> None:
    p = sub.add_parser(
        "language", help="language features and QC per subject (transcripts or offline ASR)"
    )
    p.add_argument("--subjects", nargs="+", required=True, help="participant ids (sub-XX)")
    p.add_argument("--bids-dir", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--settings", help="the config's language section as JSON or a YAML/JSON file")
    _batch_arguments(p)
    p.set_defaults(func=_cmd_language)


def _add_anonymize_speech(sub) -> None:
    p = sub.add_parser(
        "anonymize-speech",
        help="voice anonymisation (McAdams coefficient) of recordings before sharing them",
    )
    p.add_argument("inputs", nargs="+", type=Path, help="audio files")
    p.add_argument("--out-dir", type=Path, required=True, help="folder for the anonymised files")
    from psymodal.settings import defaults

    mcadams = defaults("anonymize.speech.mcadams")
    p.add_argument(
        "--alpha", type=float, default=mcadams["alpha"], help="McAdams coefficient (%(default)s)"
    )
    p.add_argument(
        "--frame-s", type=float, default=mcadams["frame_s"], help="frame length, s (%(default)s)"
    )
    p.add_argument(
        "--lpc-order", type=int, default=mcadams["lpc_order"], help="LPC order (%(default)s)"
    )
    p.add_argument("--format", choices=["wav", "flac"], default="wav", help="output format")
    p.set_defaults(func=_cmd_anonymize_speech)


def _add_anonymize(sub) -> None:
    p = sub.add_parser(
        "anonymize",
        help="the shareable copy of a BIDS study: pseudonyms, defacing, scrubbed metadata, voices",
    )
    p.add_argument("study", type=Path, help="the BIDS study (only read)")
    p.add_argument("out_dir", type=Path, help="the shared copy (replaced when complete)")
    p.add_argument("--key-file", type=Path, help="pseudonym key (psymodal pseudonym-key PATH)")
    p.add_argument("--mapping-file", type=Path, help="write the id -> pseudonym table here")
    p.add_argument("--fmriprep-dir", type=Path, help="fMRIPrep derivatives (brain masks)")
    p.add_argument("--settings", help="the config's anonymize section as JSON or a file")
    p.set_defaults(func=_cmd_anonymize)


def _add_share_features(sub) -> None:
    p = sub.add_parser(
        "share-features",
        help="a study's group feature tables under keyed pseudonyms (numbers only, binned ages)",
    )
    p.add_argument("participants", type=Path, help="the study's participants.tsv")
    p.add_argument("out_dir", type=Path, help="folder of the shared tables")
    p.add_argument(
        "--features", nargs="+", required=True, metavar="MODALITY=PATH", help="group feature tables"
    )
    p.add_argument("--key-file", type=Path, help="pseudonym key (psymodal pseudonym-key PATH)")
    p.add_argument("--settings", help="the config's anonymize section as JSON or a file")
    p.add_argument(
        "--timeseries-dir",
        type=Path,
        help="the MRI stage folder: connectome fingerprinting measured on its ROI time series",
    )
    p.add_argument(
        "--recordings-dir",
        type=Path,
        help="the study's BIDS folder: speech-feature linkage measured on its recordings",
    )
    p.add_argument("--speech-settings", help="the config's speech section as JSON or a file")
    p.set_defaults(func=_cmd_share_features)


def _add_pseudonym_key(sub) -> None:
    p = sub.add_parser("pseudonym-key", help="write a new random pseudonym key (never overwrites)")
    p.add_argument("path", type=Path, help="the key file: keep it outside results and shares")
    p.add_argument(
        "--demo-seed", type=int, help="derive the key from a demo seed (reproducible, not secret)"
    )
    p.set_defaults(func=_cmd_pseudonym_key)


def _add_config(sub) -> None:
    p = sub.add_parser(
        "config", help="check a config file and print the effective settings (defaults filled)"
    )
    p.add_argument("config", type=Path, help="a workflow config (YAML or JSON)")
    p.set_defaults(func=_cmd_config)


def _add_describe(sub) -> None:
    p = sub.add_parser("describe", help="write dataset_description.json for a results folder")
    p.add_argument("results_dir", type=Path)
    p.set_defaults(func=_cmd_describe)


def _add_import_participants(sub) -> None:
    p = sub.add_parser(
        "import-participants",
        help="write the participants.tsv of a time-series study (e.g. from ABIDE's phenotypes)",
    )
    p.add_argument("output", type=Path)
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--dataset", help="the config's dataset section as JSON or a file")
    given.add_argument("--config", help="a whole config as JSON or a file")
    p.add_argument("--atlas-name", help="mri.timeseries.atlas_name (the pattern's {atlas})")
    p.set_defaults(func=_cmd_import_participants)


def _add_record_config(sub) -> None:
    p = sub.add_parser("record-config", help="record the effective config in the run folder")
    p.add_argument("--config", required=True, help="the whole effective config as JSON or a file")
    p.set_defaults(func=_cmd_record_config)


def _add_collect(sub) -> None:
    p = sub.add_parser("collect", help="stack one-row-per-subject TSVs into one table")
    p.add_argument("output", type=Path)
    p.add_argument("inputs", nargs="+", type=Path)
    p.set_defaults(func=_cmd_collect)


def _add_learn(sub) -> None:
    p = sub.add_parser("learn", help="cross-validated classification per modality and fused")
    p.add_argument("--participants", type=Path, required=True, help="participants.tsv")
    p.add_argument("--features", nargs="+", required=True, help="MODALITY=features.tsv ...")
    p.add_argument("--qc", nargs="*", help="MODALITY=qc.tsv ...")
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument(
        "--settings",
        help="the config's learn section as JSON or a YAML/JSON file; covariance features (the "
        "MRI stage's default) need learn.transforms, e.g. {mri: tangent} as the workflow sets it",
    )
    p.add_argument(
        "--n-jobs",
        type=int,
        help="processes for folds and permutations when learn.cv.n_jobs is null (the workflow "
        "passes the job's threads)",
    )
    p.set_defaults(func=_cmd_learn)


def _add_predict(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="apply a saved model (learn.save_model) to another study",
        description="MODEL: a learn folder or its model.joblib (checked against model.json). "
        "STUDY: a folder with participants.tsv and <modality>_features.tsv (optionally "
        "<modality>_qc.tsv), the features computed exactly as in training; or name the "
        "tables with --participants, --features and --qc (as `snakemake predict` does).",
    )
    p.add_argument("model", type=Path)
    p.add_argument("study", type=Path, nargs="?")
    p.add_argument("--participants", type=Path, help="participants.tsv (instead of STUDY)")
    p.add_argument("--features", nargs="+", help="MODALITY=features.tsv ... (with --participants)")
    p.add_argument("--qc", nargs="*", help="MODALITY=qc.tsv ...")
    p.add_argument("--out-dir", type=Path, required=True)
    p.set_defaults(func=_cmd_predict)


def _add_manifest(sub) -> None:
    p = sub.add_parser("manifest", help="write provenance/manifest.json for a results folder")
    p.add_argument("results_dir", type=Path, help="the config's results_dir")
    p.add_argument(
        "--run-dir",
        type=Path,
        help="the run folder (RESULTS_DIR/runs/LABEL); default: LATEST's, or RESULTS_DIR",
    )
    p.add_argument("--stage-dirs", nargs="*", help="MODALITY=FOLDER ... stage folders the run used")
    p.add_argument(
        "--config",
        help="the effective workflow config as JSON or a YAML file "
        "(default: the run's provenance/config.yaml)",
    )
    p.add_argument(
        "--inputs",
        nargs="*",
        type=Path,
        help="input files or folders (default: the study's, from the config)",
    )
    p.add_argument(
        "--seeds", help="seeds as JSON (default: the config's and learn/run_info.json's)"
    )
    p.add_argument(
        "--started", default="auto", help="start time, ISO 8601 (default: oldest job log)"
    )
    p.add_argument("--ended", default="now", help="end time, ISO 8601 (default: now)")
    p.set_defaults(func=_cmd_manifest)


def _add_audit(sub) -> None:
    p = sub.add_parser(
        "audit", help="check a results folder against its manifest (exit 0 PASS, 1 FAIL)"
    )
    p.add_argument("results_dir", type=Path)
    p.add_argument(
        "--rerun", action="store_true", help="re-run in a temporary folder and compare checksums"
    )
    p.add_argument(
        "--subjects",
        type=int,
        metavar="N",
        help="with --rerun: only the atlas and per-subject stages for N participants",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--strict", action="store_true", help="warnings (environment, code) fail too")
    p.add_argument("--no-inputs", action="store_true", help="do not checksum the input files")
    p.add_argument("--cores", type=int, default=2, help="cores for --rerun (default 2)")
    p.add_argument("--snakefile", type=Path, help="workflow for --rerun (default: this checkout)")
    p.add_argument("--keep", action="store_true", help="keep the rerun's temporary folder")
    p.add_argument(
        "--seed",
        type=int,
        help="with --rerun --subjects: seed of the random draw (default: from the clock; "
        "printed either way)",
    )
    p.add_argument(
        "--expect",
        metavar="DIGEST",
        help="the run digest (sha256:...) the lab recorded when the run ended: FAIL otherwise",
    )
    p.add_argument(
        "--allowed-signers",
        type=Path,
        metavar="FILE",
        help="OpenSSH allowed-signers file: verify provenance/manifest.json.sig (with --identity)",
    )
    p.add_argument("--identity", help="the signer's identity in --allowed-signers")
    p.add_argument(
        "--no-recompute",
        action="store_true",
        help="do not recompute metrics.tsv and calibration.tsv from predictions.tsv",
    )
    p.add_argument(
        "--relearn",
        action="store_true",
        help="re-run the learning stage from the stored group tables and compare its files",
    )
    p.add_argument("--report", type=Path, metavar="FILE", help="also write a text report to FILE")
    p.set_defaults(func=_cmd_audit)


def _add_sign(sub) -> None:
    p = sub.add_parser(
        "sign",
        help="sign a run's manifest with an OpenSSH key (ssh-keygen -Y sign -n psymodal)",
    )
    p.add_argument("results_dir", type=Path, help="a results or run folder, or a manifest file")
    p.add_argument("--key", type=Path, required=True, help="private key (e.g. ~/.ssh/id_ed25519)")
    p.set_defaults(func=_cmd_sign)


def _add_figures(sub) -> None:
    p = sub.add_parser("figures", help="report figures: ROC curves, metrics with CIs, QC, privacy")
    p.add_argument("results_dir", type=Path, help="the run folder (with learn/)")
    p.add_argument("--out-dir", type=Path, help="default: RESULTS_DIR/figures")
    p.add_argument("--qc", nargs="*", help="MODALITY=qc.tsv ... (default: RESULTS_DIR/group/)")
    p.add_argument("--mri-settings", help="the config's mri section (QC thresholds)")
    p.add_argument("--speech-settings", help="the config's speech section (QC thresholds)")
    p.set_defaults(func=_cmd_figures)


def _add_connectome_figures(sub) -> None:
    p = sub.add_parser(
        "connectome-figures", help="report figures: top connectome edges, region importance"
    )
    p.add_argument("run_dir", type=Path, help="the run folder (with learn/importance.tsv)")
    p.add_argument("--atlas-labels", type=Path, help="the run's atlas-<name>_dseg.tsv")
    p.add_argument("--out-dir", type=Path, help="default: RUN_DIR/figures")
    p.add_argument("--top-k", type=int, default=20, help="edges drawn (default 20)")
    p.set_defaults(func=_cmd_connectome_figures)


def _add_qc_gallery(sub) -> None:
    p = sub.add_parser("qc-gallery", help="report page: every subject's QC values and QC figures")
    p.add_argument("qc_table", type=Path, help="a stage's group QC table (group/mri_qc.tsv)")
    p.add_argument("--modality", choices=["mri", "speech"], default="mri")
    p.add_argument("--out", type=Path, required=True, help="output HTML file (the first page)")
    p.add_argument(
        "--pages-dir",
        type=Path,
        help="folder of the continuation pages (default: figures past the first page's size "
        "limit are listed by path)",
    )
    p.add_argument(
        "--stage-dir", type=Path, help="stage folder (default: two levels above the table)"
    )
    p.add_argument(
        "--max-embedded",
        type=int,
        default=60,
        help="subjects whose figures are embedded (the rest are listed by path)",
    )
    p.set_defaults(func=_cmd_qc_gallery)


def _cmd_bids_app(args) -> int:
    from psymodal.bids_app import run

    return run(args)


def _add_bids_app(sub) -> None:
    from psymodal.bids_app import add_arguments

    p = sub.add_parser(
        "bids-app",
        help="the whole workflow as a BIDS App: BIDS_DIR OUTPUT_DIR participant|group",
        description="Run the psymodal workflow with the BIDS-App conventions (from any folder).",
    )
    add_arguments(p).set_defaults(func=_cmd_bids_app)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="psymodal", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"psymodal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (
        _add_bids_app,
        _add_demo,
        _add_atlas,
        _add_mri,
        _add_speech,
        _add_language,
        _add_anonymize_speech,
        _add_import_audio,
        _add_anonymize,
        _add_pseudonym_key,
        _add_share_features,
        _add_config,
        _add_describe,
        _add_import_participants,
        _add_record_config,
        _add_collect,
        _add_learn,
        _add_predict,
        _add_manifest,
        _add_audit,
        _add_sign,
        _add_figures,
        _add_connectome_figures,
        _add_qc_gallery,
    ):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"psymodal {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
