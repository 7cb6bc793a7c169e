"""Transcripts: finding them next to the recordings, reading and checking them.

A transcript is either a TSV with one row per word (``onset`` and ``duration`` in seconds
from the start of the recording, ``word``; optional ``speaker`` and ``confidence`` in [0, 1])
or plain UTF-8 text (``.txt``; a line may start with ``Speaker:``, which holds until the next
such prefix). Words of the speakers in ``language.exclude_speakers`` (the interviewer) are
dropped. Every problem that makes a transcript unusable raises :class:`TranscriptError` with
a message that names it; the stage turns it into the subject's QC reason.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .lexicon import SENTENCE_END, tokens
from .paths import recording_stem

__all__ = [
    "Transcript",
    "TranscriptError",
    "find_sources",
    "read_transcript",
    "recording_duration",
]

REQUIRED_COLUMNS = ("onset", "duration", "word")
_SPEAKER_PREFIX = re.compile(r"^\s*([A-Za-z][\w .'-]{0,30}?)\s*:\s+")


class TranscriptError(ValueError):
    """A transcript that cannot be used; the message says why."""


@dataclass
class Transcript:
    """The participant's words of one recording, in order.

    Attributes
    ----------
    words : list of str
        Lower-case tokens (fillers included; see :mod:`psymodal.language.lexicon`).
    utterances : numpy.ndarray of int
        Utterance number of each word (pauses of ``utterance_pause_s`` or more, a turn of an
        excluded speaker, or, in plain text, sentence-final punctuation and line ends).
    onsets, offsets : numpy.ndarray or None
        Word start and end times (s); None for plain text.
    confidence : float or None
        Mean word confidence (recognised words, or a TSV ``confidence`` column).
    source : str
        ``transcript`` or ``asr``.
    """

    words: list[str]
    utterances: np.ndarray
    onsets: np.ndarray | None = None
    offsets: np.ndarray | None = None
    confidence: float | None = None
    source: str = "transcript"
    excluded_words: int = field(default=0)

    @property
    def timed(self) -> bool:
        return self.onsets is not None


def _decode(path: Path) -> str:
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise TranscriptError(
            f"not UTF-8 text (byte 0x{raw[err.start]:02x} at position {err.start}): save the "
            "transcript as UTF-8"
        ) from None
    if not text.strip():
        raise TranscriptError("empty transcript")
    return text


def _number(value: str, row: int, column: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TranscriptError(f"row {row}: {column} {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise TranscriptError(f"row {row}: {column} {value!r} is not a finite number >= 0")
    return number


def _excluded(speaker: str | None, exclude: set[str]) -> bool:
    return speaker is not None and speaker.strip().lower() in exclude


def _read_tsv(
    path: Path,
    exclude: set[str],
    pause_s: float,
    duration_s: float | None,
    max_overrun_s: float,
) -> Transcript:
    text = _decode(path)
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise TranscriptError(
            f"missing column(s) {', '.join(missing)} (a transcript TSV has onset, duration, "
            "word and optionally speaker, confidence)"
        )
    rows = list(reader)
    if not rows:
        raise TranscriptError("empty transcript (a header without rows)")
    words, utterances, onsets, offsets, confidences = [], [], [], [], []
    utterance, last_end, last_onset, dropped = 0, None, -math.inf, 0
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        onset = _number(row["onset"], number, "onset")
        duration = _number(row["duration"], number, "duration")
        if onset < last_onset:
            raise TranscriptError(
                f"onsets not sorted: row {number} starts at {onset:.2f} s, before the row above "
                f"({last_onset:.2f} s)"
            )
        last_onset = onset
        end = onset + duration
        if duration_s is not None and end > duration_s + max_overrun_s:
            raise TranscriptError(
                f"words outside the recording: {str(row['word'])!r} (row {number}) ends at "
                f"{end:.2f} s, the recording lasts {duration_s:.2f} s"
            )
        if _excluded(row.get("speaker"), exclude):
            dropped += 1
            last_end = None  # the other speaker's turn ends the participant's utterance
            continue
        found = tokens(str(row["word"] or ""))
        if not found:
            continue
        if last_end is not None and onset - last_end >= pause_s:
            utterance += 1
        elif last_end is None and words:
            utterance += 1
        last_end = end
        confidence = row.get("confidence")
        for token in found:
            words.append(token)
            utterances.append(utterance)
            onsets.append(onset)
            offsets.append(end)
            if confidence not in (None, "", "n/a"):
                confidences.append(_number(confidence, number, "confidence"))
    if not words:
        raise TranscriptError(
            "no participant words"
            + (f" ({dropped} row(s) of excluded speakers only)" if dropped else "")
        )
    return Transcript(
        words,
        np.asarray(utterances),
        np.asarray(onsets, dtype=float),
        np.asarray(offsets, dtype=float),
        float(np.mean(confidences)) if confidences else None,
        excluded_words=dropped,
    )


def _read_txt(path: Path, exclude: set[str]) -> Transcript:
    text = _decode(path)
    words, utterances, utterance, speaker, dropped = [], [], 0, None, 0
    for line in text.splitlines():
        match = _SPEAKER_PREFIX.match(line)
        if match:
            speaker, line = match[1], line[match.end() :]
        if _excluded(speaker, exclude):
            dropped += len(tokens(line))
            continue
        for sentence in SENTENCE_END.split(line):
            found = tokens(sentence)
            if found:
                words += found
                utterances += [utterance] * len(found)
                utterance += 1
    if not words:
        raise TranscriptError(
            "no participant words"
            + (f" ({dropped} word(s) of excluded speakers only)" if dropped else "")
        )
    return Transcript(words, np.asarray(utterances), excluded_words=dropped)


def read_transcript(
    path,
    exclude_speakers=(),
    utterance_pause_s: float = 0.5,
    duration_s: float | None = None,
    max_overrun_s: float = 0.1,
) -> Transcript:
    """Read and check one transcript (TSV with word timings, or plain text).

    Parameters
    ----------
    path : path-like
        ``*_transcript.tsv`` or ``*_transcript.txt``.
    exclude_speakers : iterable of str
        Speaker labels (case-insensitive) whose words are dropped.
    utterance_pause_s : float
        A silence of at least this long between two words ends an utterance (TSV).
    duration_s : float, optional
        The recording's duration: a word ending more than ``max_overrun_s`` after it makes the
        transcript unusable.
    max_overrun_s : float
        Tolerance for rounded timings (s).

    Returns
    -------
    Transcript

    Raises
    ------
    TranscriptError
        Empty, not UTF-8, missing columns, non-numeric or negative timings, onsets not
        sorted, words outside the recording, or no words of the participant.
    """
    path = Path(path)
    exclude = {s.lower() for s in exclude_speakers}
    if path.name.endswith(".tsv"):
        return _read_tsv(path, exclude, utterance_pause_s, duration_s, max_overrun_s)
    return _read_txt(path, exclude)


def recording_duration(recording: Path | None, transcript: Path | None = None) -> float | None:
    """Duration (s) of a recording from its header, else from its JSON sidecar's
    ``RecordingDuration``; None when neither can be read."""
    if recording is not None and recording.is_file():
        try:
            import soundfile

            return float(soundfile.info(str(recording)).duration)
        except Exception:  # unreadable audio: the speech stage reports it; try the sidecar
            pass
    for base in (recording, transcript):
        if base is None:
            continue
        sidecar = base.with_name(f"{recording_stem(base)}_audio.json")
        if sidecar.is_file():
            try:
                value = json.loads(sidecar.read_text()).get("RecordingDuration")
            except (ValueError, OSError):
                continue
            if isinstance(value, int | float) and value > 0:
                return float(value)
    return None


@dataclass(frozen=True)
class Source:
    """One recording's language input: its transcript, its audio, or both."""

    stem: str
    transcript: Path | None
    audio: Path | None

    @property
    def task(self) -> str:
        """The task label of the stem (``sub-01_task-interview_run-1`` -> ``interview``)."""
        return re.search(r"_task-([a-zA-Z0-9]+)", self.stem)[1]


def find_sources(bids_dir, subject: str, task: str | None = None) -> list[Source]:
    """Transcripts and recordings of one subject, paired by name.

    Matches ``sub-<label>/[ses-<s>/]audio/sub-<label>[_ses-<s>]_task-<task>[_<key>-<value>...]``
    followed by ``_transcript.tsv``, ``_transcript.txt`` or ``_audio.(wav|flac|ogg)`` (the
    speech stage's recordings). A recording's TSV transcript is preferred to its text one.

    Returns
    -------
    list of Source
        Sorted by session, task, run number and name.
    """
    sub = subject if subject.startswith("sub-") else f"sub-{subject}"
    root = Path(bids_dir) / sub
    task_re = re.escape(task) if task else r"[a-zA-Z0-9]+"
    pattern = re.compile(
        rf"^(?P<stem>{re.escape(sub)}(?:_ses-(?P<ses>[a-zA-Z0-9]+))?_task-(?P<task>{task_re})"
        r"(?:_[a-zA-Z]+-[a-zA-Z0-9]+)*)"
        r"(?:_transcript\.(?P<text>tsv|txt)|_audio\.(?:wav|flac|ogg))$"
    )
    found: dict[tuple, dict] = {}
    dirs = [root / "audio"] + sorted(p / "audio" for p in root.glob("ses-*"))
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            match = pattern.match(path.name)
            # a dangling link or a FIFO is kept: reading it gives an accurate QC reason
            if not match or path.is_dir():
                continue
            run = re.search(r"_run-(\d+)", match["stem"])
            key = (match["ses"] or "", match["task"], int(run[1]) if run else -1, match["stem"])
            entry = found.setdefault(key, {})
            if match["text"] is None:
                entry["audio"] = path
            elif "transcript" not in entry or match["text"] == "tsv":
                entry["transcript"] = path
    return [
        Source(key[-1], entry.get("transcript"), entry.get("audio"))
        for key, entry in sorted(found.items())
    ]
