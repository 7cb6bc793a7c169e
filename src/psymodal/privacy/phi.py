"""A scanner for identifiers in a folder: the proof that planted PHI reaches no output.

Every file is read whole (gzip members decompressed, so NIfTI headers and their extensions
are read too) and searched, case-insensitively, for each string in UTF-8 and UTF-16 (the
encodings of JSON, TSV, NIfTI text fields and WAV/DICOM metadata chunks); every path is
searched as well.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["find_phi"]


def _readable(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError):  # a corrupt member: search the bytes as they are
            return data
    return data


def find_phi(folder: str | os.PathLike, strings: Iterable[str]) -> list[tuple[str, str]]:
    """Where in ``folder`` any of ``strings`` occurs.

    Parameters
    ----------
    folder : path
        Searched recursively: every file's content and every relative path.
    strings : iterable of str
        The identifiers (names, ids, dates...).

    Returns
    -------
    list of (str, str)
        ``(relative path, string)`` for each hit, sorted; empty when nothing was found.
    """
    folder = Path(folder)
    needles = []
    for text in strings:
        low = text.lower()
        needles.append((text, [low.encode(), low.encode("utf-16-le")]))
    hits = set()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        content = _readable(path).lower() if path.is_file() else b""
        for text, encoded in needles:
            if text.lower() in relative.lower() or any(e in content for e in encoded):
                hits.add((relative, text))
    return sorted(hits)
