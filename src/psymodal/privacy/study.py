"""The shareable copy of a study: pseudonymous, defaced, scrubbed, voice-anonymised, BIDS.

:func:`anonymize_study` reads a BIDS dataset (and fMRIPrep's brain masks for defacing) and
writes a new BIDS dataset in which:

- ``sub-<label>`` becomes ``sub-<HMAC(key, label)>`` in every folder and file name;
- participants.tsv keeps the allow-listed columns, ages binned; participants.json, README and
  dataset_description.json are written from scratch (the originals are free text);
- NIfTI images keep their data with empty text fields and no extensions; T1w images are
  defaced (:mod:`psymodal.privacy.deface`); other anatomical images (T2w, FLAIR: faces too) are
  withheld;
- JSON sidecars keep only allow-listed keys with numeric values;
- recordings are re-synthesised by the voice anonymiser, with parameters drawn per speaker from
  the key (the originals' bytes, and any metadata chunk, never reach the copy);
- with recordings, ``code/psymodal-config.yaml`` holds the settings to analyse them with
  (speech rate from intensity peaks: anonymisation changes voicing; benchmarks/RESULTS.md);
- transcripts (``*_transcript.tsv``/``.txt`` next to the recordings) are copied with numbers,
  dates, the configured names (``anonymize.transcript_names``) and the participants' original
  labels replaced by placeholders (:mod:`psymodal.privacy.transcripts`);
- no free text reaches a path: session labels (often a scan date) are renumbered ``01``,
  ``02``... per participant in the sorted order of the original labels; other entity labels
  (task, acq, run...) are kept unless they hold four or more digits in a row (a date, a phone
  or record number) or a configured name, and a file whose folder is not a BIDS datatype or
  whose suffix is not one psymodal shares is withheld (the log names it only by its subject);
- everything else (events, scans and sessions tables with acquisition times, notes, unknown
  files) is withheld, and counted by reason.

The original is only read. The copy is written under a temporary name next to ``out_dir`` and
renamed into place when complete, so a failed run leaves no half-shared folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd

from psymodal.privacy.metadata import (
    filter_sidecar,
    participants_sidecar,
    shareable_participants,
    write_scrubbed_nifti,
)
from psymodal.privacy.pseudonyms import pseudonym, speaker_uniform
from psymodal.privacy.transcripts import name_words
from psymodal.settings import resolve_section

__all__ = ["anonymize_study"]

_LABEL = re.compile(r"^[A-Za-z0-9]+$")
_ENTITY = re.compile(r"^([a-z]+)-(.*)$")
#: Four digits in a row: a year, a date, a phone or record number (never a run or echo index).
_LONG_NUMBER = re.compile(r"[0-9]{4}")
#: Folders a subject (or session) folder may hold in the copy: the BIDS datatypes.
_DATATYPES = frozenset(
    "anat func dwi fmap perf audio beh eeg meg ieeg pet nirs motion mrs micr".split()
)
#: File suffixes the copy may name (anything else is withheld: a suffix can be free text).
_SUFFIXES = frozenset(
    "T1w T2w FLAIR T2star PDw bold sbref cbv phase dwi epi phasediff magnitude magnitude1 "
    "magnitude2 phase1 phase2 fieldmap asl m0scan aslcontext events physio beh audio "
    "transcript".split()
)
_TRANSCRIPTS = ("_transcript.tsv", "_transcript.txt")
_NIFTI = (".nii", ".nii.gz")
_AUDIO = (".wav", ".flac", ".mp3", ".ogg")
# Datatypes whose images carry no face (an anatomical image other than a defaced T1w does).
_IMAGE_DATATYPES = frozenset({"func", "dwi", "fmap", "perf"})
# Top-level files the copy writes from scratch (the originals hold free text).
_REWRITTEN = frozenset(
    {"participants.tsv", "participants.json", "dataset_description.json", "README", "README.md"}
)


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _check_places(bids_dir: Path, out_dir: Path, mapping_file: Path | None, key_file) -> None:
    if _inside(out_dir, bids_dir) or _inside(bids_dir, out_dir):
        raise ValueError(f"{out_dir}: the shared copy may not overlap the original {bids_dir}")
    for name, path in (("mapping file", mapping_file), ("key file", key_file)):
        if path is not None and _inside(Path(path), out_dir):
            raise ValueError(f"{path}: the {name} may not lie inside the shared copy {out_dir}")


def _session_numbers(folder: Path) -> dict[str, str]:
    """Session label -> ``01``, ``02``... in sorted order of the participant's ``ses-`` folders
    (a label can be a scan date; the order survives, the date does not)."""
    labels = sorted(
        p.name.removeprefix("ses-")
        for p in folder.glob("ses-*")
        if p.is_dir() and _LABEL.match(p.name.removeprefix("ses-"))
    )
    width = max(2, len(str(len(labels))))
    return {label: f"{i + 1:0{width}d}" for i, label in enumerate(labels)}


def _split_name(name: str) -> tuple[list[tuple[str, str]], str, str] | None:
    """``sub-01_task-rest_bold.nii.gz`` -> ([(sub, 01), (task, rest)], "bold", ".nii.gz")."""
    stem, dot, ext = name.partition(".")
    parts = stem.split("_")
    entities = []
    for part in parts[:-1]:
        match = _ENTITY.match(part)
        if match is None:
            return None
        entities.append((match[1], match[2]))
    return entities, parts[-1], dot + ext


class _Copy:
    """The state of one anonymisation: where it writes, what it shared and withheld."""

    def __init__(self, settings, key, tmp: Path, fmriprep_dir, labels=()):
        self.s = settings
        self.key = key
        self.tmp = tmp
        self.fmriprep_dir = fmriprep_dir
        # participants' own labels are names too (sub-JohnDoe)
        self.names = frozenset(n.lower() for n in settings["transcript_names"]) | frozenset(
            label.lower() for label in labels if not label.isdigit()
        )
        self.name_words = name_words(self.names)
        self.shared: Counter = Counter()
        self.withheld: Counter = Counter()
        self.log: list[str] = []

    def withhold(self, shown: str, reason: str) -> None:
        self.withheld[reason] += 1
        self.log.append(f"withheld {shown}: {reason}")

    def new_name(
        self, name: str, ids: dict[str, str], sessions: dict[str, str]
    ) -> tuple[str, dict] | None:
        """The file name with its subject pseudonymised and its session renumbered, and its
        (original) entities; ``None`` when a part of the name could carry free text: not a
        BIDS entity with a clean label, a session not in ``sessions``, a label with a long
        number or a configured name, or a suffix psymodal does not share."""
        split = _split_name(name)
        if split is None:
            return None
        entities, suffix, ext = split
        if suffix not in _SUFFIXES:
            return None
        out = []
        for key, value in entities:
            if not _LABEL.match(value):
                return None
            if key == "sub":
                out.append(f"sub-{ids[value]}" if value in ids else "")
            elif key == "ses":
                out.append(f"ses-{sessions[value]}" if value in sessions else "")
            elif _LONG_NUMBER.search(value) or self._holds_a_name(value):
                return None
            else:
                out.append(f"{key}-{value}")
        if "" in out:
            return None
        return "_".join(out + [suffix]) + ext, dict(entities)

    def _holds_a_name(self, label: str) -> bool:
        """A label that is a word of a listed name, or holds one of four letters or more
        (shorter words, "st" or "al", would withhold every "rest" or "retinal" label)."""
        low = label.lower()
        return any(word == low or (len(word) >= 4 and word in low) for word in self.name_words)

    def copy_file(self, source: Path, target: Path, datatype: str | None, entities) -> None:
        name = source.name
        shown = target.relative_to(self.tmp).as_posix()
        lower = name.lower()
        try:
            if lower.endswith(".json"):
                self._sidecar(source, target, entities)
            elif lower.endswith(_NIFTI):
                self._image(source, target, datatype, shown)
            elif lower.endswith(_AUDIO) and datatype == "audio":
                self._audio(source, target.with_name(target.name.rsplit(".", 1)[0] + ".wav"))
            elif name.endswith(_TRANSCRIPTS) and datatype == "audio":
                self._transcript(source, target)
            else:
                self.withhold(shown, "not an allow-listed kind of file")
        except Exception as error:  # one bad file is withheld with its reason; the copy goes on
            self.withhold(shown, f"{type(error).__name__}: {error}")

    def _sidecar(self, source: Path, target: Path, entities) -> None:
        data = json.loads(source.read_text())
        if not isinstance(data, dict):
            raise ValueError("a JSON sidecar must hold an object")
        task = entities.get("task") if entities else None
        from psymodal.io.tables import write_json

        write_json(filter_sidecar(data, self.s["sidecar_keys"], task), target)
        self.shared["sidecar"] += 1

    def _image(self, source: Path, target: Path, datatype: str | None, shown: str) -> None:
        import nibabel as nib

        from psymodal.privacy.deface import deface, find_brain_mask

        img = nib.load(source)
        if datatype == "anat" and source.name.split(".")[0].endswith("_T1w"):
            mask = find_brain_mask(source, img, self.fmriprep_dir)
            if mask is None:
                self.withhold(shown, "T1w without an fMRIPrep brain mask on its grid: not defaced")
                return
            img = deface(img, mask, self.s["deface"]["buffer_voxels"])
            self.shared["defaced T1w"] += 1
        elif datatype in _IMAGE_DATATYPES:
            self.shared[f"{datatype} image"] += 1
        else:
            self.withhold(shown, "an anatomical image other than T1w (the face is not removed)")
            return
        write_scrubbed_nifti(img, target)

    def _transcript(self, source: Path, target: Path) -> None:
        from psymodal.privacy.transcripts import scrub_transcript

        scrub_transcript(source, target, self.names, self.s["transcript_speakers"])
        self.shared["scrubbed transcript"] += 1

    def _audio(self, source: Path, target: Path) -> None:
        from psymodal.speech.anonymize import anonymize_file

        speech = self.s["speech"]
        speaker = target.name.split("_")[0]
        if speech["method"] == "world":
            from psymodal.speech.anonymize import pseudo_speaker

            p = dict(speech["world"])
            params = pseudo_speaker(
                *(speaker_uniform(f"{speaker}:{part}", self.key) for part in "dsf"), **p
            )
            params["frame_period_ms"] = p["frame_period_ms"]
        else:
            p = speech["mcadams"]
            u = speaker_uniform(speaker, self.key)
            params = {
                "alpha": p["alpha"] + p["alpha_spread"] * (2 * u - 1),
                "frame_s": p["frame_s"],
                "lpc_order": p["lpc_order"],
            }
        anonymize_file(source, target, method=speech["method"], **params)
        self.shared["anonymised recording"] += 1


def _read_participants(bids_dir: Path) -> pd.DataFrame:
    path = bids_dir / "participants.tsv"
    if not path.is_file():
        return pd.DataFrame({"participant_id": pd.Series([], dtype=object)})
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=["n/a"])


def _description(settings) -> dict:
    return {
        "Name": "Shareable anonymised copy",
        "BIDSVersion": "1.10.0",
        "DatasetType": "raw",
        "GeneratedBy": [
            {
                "Name": "psymodal.privacy.anonymize_study",
                "Description": (
                    "Keyed pseudonyms (HMAC-SHA256), ages binned to "
                    f"{settings['age_bin_years']} years, participant columns and sidecar keys "
                    "by allow-list, NIfTI text fields and extensions removed, T1w defaced with "
                    "quickshear, recordings voice-anonymised "
                    f"({settings['speech']['method']}), transcripts scrubbed of numbers, dates "
                    "and listed names, sessions renumbered."
                ),
            }
        ],
    }


#: psymodal settings for analysing the copy's anonymised recordings, written to ``code/``.
ANALYSIS_CONFIG_NAME = "psymodal-config.yaml"
ANALYSIS_CONFIG = """\
# psymodal settings for this copy: snakemake --configfile code/psymodal-config.yaml
# Speech rate from intensity peaks inside speech segments: the voice anonymiser changes what
# the pitch tracker calls voiced, and with it de Jong's voiced syllable nuclei (-67 % with
# McAdams, -11 % to +178 % per recording with world, against -9 % to +5 % counting intensity
# peaks; psymodal's benchmarks/RESULTS.md). Use the same setting on the originals you compare.
speech:
  syllables:
    require_voicing: false
"""

_README = """\
Shareable anonymised copy of a study, written by psymodal (psymodal.privacy.anonymize_study).

Participant ids are keyed pseudonyms; the key and the mapping stay with the original study.
Ages are binned. Only allow-listed participant columns and sidecar keys are kept. NIfTI text
fields and extensions are removed; T1w images are defaced (quickshear); other anatomical images
are withheld. Recordings are voice-anonymised: see psymodal's README for the attackers this
resists and those it does not. Analyse the speech rate of these recordings with psymodal's
speech.syllables.require_voicing: false (code/psymodal-config.yaml), and the originals you
compare them with too: voiced
syllable nuclei depend on what the pitch tracker calls voiced, which the anonymiser changes
(benchmarks/RESULTS.md: -67 % with McAdams, -11 % to +178 % per recording with world, against
-9 % to +5 % counting intensity peaks). Transcripts have numbers, dates and listed names replaced by
[number], [date] and [name]. Sessions are renumbered 01, 02... per participant in the order of
their original labels. Events, scans and sessions tables and any other file are withheld.
"""


def anonymize_study(
    bids_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    key: bytes,
    settings: dict | None = None,
    fmriprep_dir: str | os.PathLike | None = None,
    mapping_file: str | os.PathLike | None = None,
    key_file: str | os.PathLike | None = None,
) -> dict:
    """Write the shareable copy of a BIDS study.

    Parameters
    ----------
    bids_dir : path
        The original study (only read).
    out_dir : path
        The shared copy; replaced as a whole when complete. May not overlap ``bids_dir``.
    key : bytes
        Pseudonym key (:func:`psymodal.privacy.pseudonyms.read_key`).
    settings : dict, optional
        The ``anonymize`` section of the configuration (defaults filled from the schema).
    fmriprep_dir : path, optional
        fMRIPrep derivatives holding the brain masks used for defacing.
    mapping_file : path, optional
        Where to write the original id -> pseudonym table (outside ``out_dir``).
    key_file : path, optional
        The key's file, only to check that it is not inside ``out_dir``.

    Returns
    -------
    dict
        ``shared`` and ``withheld`` counts (by kind and reason), the number of participants and
        ``log``: one line per withheld file, named by its pseudonymised path.
    """
    from psymodal.io.tables import write_json, write_tsv

    s = resolve_section("anonymize", settings)
    bids_dir, out_dir = Path(bids_dir), Path(out_dir)
    mapping_file = None if mapping_file is None else Path(mapping_file)
    if not (bids_dir / "dataset_description.json").is_file() and not any(bids_dir.glob("sub-*")):
        raise FileNotFoundError(f"{bids_dir}: not a BIDS dataset (no dataset_description.json)")
    _check_places(bids_dir, out_dir, mapping_file, key_file)

    participants = _read_participants(bids_dir)
    folders = sorted(p for p in bids_dir.glob("sub-*") if p.is_dir())
    labels = sorted(
        set(participants["participant_id"].dropna().str.removeprefix("sub-"))
        | {p.name.removeprefix("sub-") for p in folders}
    )
    skipped = [label for label in labels if not _LABEL.match(label)]
    labels = [label for label in labels if _LABEL.match(label)]
    ids = {label: pseudonym(label, key, s["pseudonym_length"]) for label in labels}
    if len(set(ids.values())) < len(ids):
        raise ValueError("two participants share a pseudonym: raise anonymize.pseudonym_length")

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        job = _Copy(s, key, tmp, fmriprep_dir, labels)
        for _ in skipped:
            job.withhold("(a participant)", "participant label is not a BIDS label")
        for folder in folders:
            label = folder.name.removeprefix("sub-")
            if label not in ids:
                continue
            sessions = _session_numbers(folder)
            for source in sorted(p for p in folder.rglob("*") if p.is_file()):
                shown = f"sub-{ids[label]}/(a file)"
                dirs = list(source.relative_to(folder).parts[:-1])
                session = None
                if dirs and dirs[0].startswith("ses-"):
                    session = dirs.pop(0).removeprefix("ses-")
                if len(dirs) > 1 or (dirs and dirs[0] not in _DATATYPES):
                    job.withhold(shown, "folder is not a BIDS datatype")
                    continue
                named = job.new_name(source.name, ids, sessions)
                if named is None:
                    job.withhold(shown, "name is not BIDS entities with shareable labels")
                    continue
                name, entities = named
                if entities.get("sub") != label or entities.get("ses") != session:
                    job.withhold(shown, "file of another participant or session")
                    continue
                datatype = dirs[0] if dirs else None
                place = [f"sub-{ids[label]}"]
                place += [f"ses-{sessions[session]}"] if session is not None else []
                job.copy_file(source, tmp.joinpath(*place, *dirs, name), datatype, entities)
        for source in sorted(p for p in bids_dir.iterdir() if not p.name.startswith("sub-")):
            if source.is_dir():
                if source.name != "derivatives":  # derivatives are not part of a raw copy
                    job.withhold("(a top-level folder)", "not an allow-listed kind of file")
                continue
            named = job.new_name(source.name, ids, {}) if source.name.endswith(".json") else None
            if named is not None and "sub" not in named[1] and source.name.startswith("task-"):
                job.copy_file(source, tmp / named[0], None, named[1])
            elif source.name not in _REWRITTEN:
                job.withhold("(a top-level file)", "not an allow-listed kind of file")

        columns = list(s["participants_columns"])
        table = shareable_participants(
            participants.assign(
                participant_id=participants["participant_id"].str.removeprefix("sub-")
            ),
            ids,
            columns,
            s["age_column"],
            s["age_bin_years"],
            s["age_top_code"],
        )
        table["participant_id"] = "sub-" + table["participant_id"]
        write_tsv(table, tmp / "participants.tsv")
        kept = [c for c in table.columns]
        write_json(
            participants_sidecar(kept, s["age_column"], s["age_bin_years"]),
            tmp / "participants.json",
        )
        write_json(_description(s), tmp / "dataset_description.json")
        (tmp / "README").write_text(_README)
        if job.shared["anonymised recording"]:
            # recordings are psymodal's convention, not a BIDS datatype yet
            (tmp / ".bidsignore").write_text("**/audio/\n")
            (tmp / "code").mkdir()
            (tmp / "code" / ANALYSIS_CONFIG_NAME).write_text(ANALYSIS_CONFIG)
        if mapping_file is not None:
            mapping = pd.DataFrame(
                {
                    "participant_id": [f"sub-{k}" for k in ids],
                    "pseudonym": [f"sub-{v}" for v in ids.values()],
                }
            )
            write_tsv(mapping, mapping_file)
        # mkdtemp makes an owner-only folder; the copy follows the umask like any output
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {
        "participants": len(ids),
        "shared": dict(sorted(job.shared.items())),
        "withheld": dict(sorted(job.withheld.items())),
        "log": job.log,
    }
