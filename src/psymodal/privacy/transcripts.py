"""Transcripts in the shareable copy: numbers, dates and listed names replaced by placeholders.

A word is replaced, keeping its place (so word counts, timings and utterances survive):

- by ``[number]`` when it holds a digit (``1961-04-12``, ``555-0199``, ``3rd``, ``MRN778812``)
  or is an English number word (``twelve``, ``sixty-one``, ``hundred``, ``first``...);
- by ``[date]`` when it is a month name (``may`` and ``march`` only next to a number: they are
  also ordinary words);
- by ``[name]`` when it is one of the words of ``names`` (each word of a listed name is matched
  on its own, case-insensitively: over-scrubbing a common word is the safe error).

In a TSV transcript only the columns the language stage reads are kept (``onset``,
``duration``, ``word``, ``speaker``, ``confidence``); a speaker label is kept when it is one of
``keep_speakers`` (the role words of ``language.exclude_speakers``, so the copy's interviewer
turns are still dropped) and not a listed name, else it becomes ``speaker1``, ``speaker2``... in
order of first appearance. A plain-text transcript is scrubbed word by word with its layout.

What it cannot do: find a name that is not listed (there is no offline name recogniser that
can be trusted with PHI), nor a place, an address or an event described in words: list the
names a study's transcripts may hold (staff, participants) in ``anonymize.transcript_names``.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

__all__ = ["name_words", "scrub_text", "scrub_transcript"]

#: A word with its inner punctuation (``1961-04-12``, ``12/04/61``, ``o'clock``, ``sixty-one``).
_WORD = re.compile(r"[^\W_]+(?:[-'/.:,\u2019][^\W_]+)*")
_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred thousand million billion oh-one"
).split()
_ORDINALS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth "
    "thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth hundredth thousandth"
).split()
_NUMBER_PARTS = frozenset(_UNITS + _ORDINALS)
_MONTHS = frozenset(
    "january february april june july august september october november december "
    "jan feb apr jun jul aug sep sept oct nov dec".split()
)
#: Months that are also common words: a date only next to a number.
_AMBIGUOUS_MONTHS = frozenset({"may", "march"})
#: Columns of a transcript TSV that the copy keeps (psymodal.language.transcripts reads them).
TSV_COLUMNS = ("onset", "duration", "word", "speaker", "confidence")


def name_words(names: Iterable[str]) -> frozenset[str]:
    """The lower-case words of ``names`` (``["Jane Roe"]`` -> ``{"jane", "roe"}``)."""
    return frozenset(w.lower() for name in names for w in _WORD.findall(str(name)))


def _kind(word: str, names: frozenset[str]) -> str | None:
    low = word.lower().replace("\u2019", "'")
    if any(c.isdigit() for c in low):
        return "number"
    if all(part in _NUMBER_PARTS for part in re.split(r"[-\s]", low) if part):
        return "number"
    if low.rstrip(".") in _MONTHS:
        return "date"
    if low in names or any(part in names for part in re.split(r"[-'/.:,]", low) if part):
        return "name"
    return None


def _scrub_words(words: list[str], names: frozenset[str]) -> tuple[list[str | None], Counter]:
    """The placeholder kind of each word (None: kept), and how many of each kind."""
    kinds = [_kind(w, names) for w in words]
    for i, word in enumerate(words):
        if kinds[i] is None and word.lower() in _AMBIGUOUS_MONTHS:
            around = kinds[max(i - 1, 0) : i] + kinds[i + 1 : i + 2]
            if "number" in around:
                kinds[i] = "date"
    return kinds, Counter(k for k in kinds if k is not None)


def scrub_text(text: str, names: Iterable[str] = ()) -> tuple[str, Counter]:
    """``text`` with numbers, dates and the words of ``names`` replaced by placeholders.

    Parameters
    ----------
    text : str
    names : iterable of str
        Names to remove (each of their words, case-insensitively).

    Returns
    -------
    str, collections.Counter
        The scrubbed text (layout kept) and the number of replacements by kind.

    Examples
    --------
    >>> scrub_text("Jane was born on 12 March 1961, call 555-0199.", ["Jane Roe"])[0]
    '[name] was born on [number] [date] [number], call [number].'
    """
    matches = list(_WORD.finditer(text))
    kinds, counts = _scrub_words([m[0] for m in matches], name_words(names))
    pieces, last = [], 0
    for match, kind in zip(matches, kinds, strict=True):
        pieces.append(text[last : match.start()])
        pieces.append(match[0] if kind is None else f"[{kind}]")
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces), counts


def _scrub_tsv(
    text: str, names: Iterable[str], keep_speakers: Iterable[str]
) -> tuple[str, Counter]:
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    if "word" not in header:
        raise ValueError("a transcript TSV needs a word column")
    columns = [c for c in TSV_COLUMNS if c in header]
    listed = name_words(names)
    keep = {s.lower() for s in keep_speakers} - listed
    speakers: dict[str, str] = {}
    rows = list(reader)
    # scrub the words as one text so that "12 March" is seen across rows
    words = [str(row["word"] or "") for row in rows]
    scrubbed, counts = scrub_text("\n".join(words), names)
    scrubbed_words = scrubbed.split("\n")
    if len(scrubbed_words) != len(rows):
        raise ValueError("a word cell holds a line break")
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(columns)
    for row, word in zip(rows, scrubbed_words, strict=True):
        values = []
        for column in columns:
            value = str(row[column] if row[column] is not None else "")
            if column == "word":
                value = word
            elif column == "speaker" and value.strip().lower() not in keep:
                label = value.strip().lower()
                if label not in speakers:
                    speakers[label] = f"speaker{len(speakers) + 1}"
                value = speakers[label]
                counts["speaker"] += 1
            elif column in ("onset", "duration", "confidence"):
                value = _number_or_na(value)
            values.append(value)
        writer.writerow(values)
    return out.getvalue(), counts


def _number_or_na(value: str) -> str:
    """A timing or confidence cell as it is when it is a number, else ``n/a``."""
    try:
        float(value)
    except ValueError:
        return "n/a"
    return value.strip()


def scrub_transcript(
    source: str | os.PathLike,
    target: str | os.PathLike,
    names: Iterable[str] = (),
    keep_speakers: Iterable[str] = (),
) -> Counter:
    """Write the scrubbed copy of one transcript (``.tsv`` or ``.txt``, UTF-8).

    Parameters
    ----------
    source, target : path
        The transcript and where its scrubbed copy goes (written whole, then renamed).
    names : iterable of str
        Names to remove from the words (and from speaker labels).
    keep_speakers : iterable of str
        Speaker labels (role words such as ``interviewer``) kept as they are in a TSV.

    Returns
    -------
    collections.Counter
        Replacements by kind (``number``, ``date``, ``name``, ``speaker``).
    """
    from psymodal.io.tables import atomic_write

    source, target = Path(source), Path(target)
    text = source.read_bytes().decode("utf-8-sig")
    if source.name.endswith(".tsv"):
        scrubbed, counts = _scrub_tsv(text, names, keep_speakers)
    else:
        scrubbed, counts = scrub_text(text, names)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda tmp: tmp.write_text(scrubbed, encoding="utf-8"))
    return counts
