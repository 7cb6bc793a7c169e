"""Keyed pseudonyms and binned ages for a shared copy of a study.

A pseudonym is ``HMAC-SHA256(key, original label)`` in hex, cut to a fixed length: the same
key always gives the same pseudonym (so a study can be re-shared and extended), while without
the key the original ids cannot be recomputed from the pseudonyms, unlike a plain hash of a
guessable id ("sub-01"). The key lives in a file outside the results and the shared copy.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
from pathlib import Path

__all__ = ["bin_age", "demo_key", "pseudonym", "read_key", "speaker_uniform", "write_key"]

# 32 hex characters = 128 bits, the least a secret key should carry.
_MIN_KEY_HEX = 32
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def read_key(path: str | os.PathLike) -> bytes:
    """The pseudonym key stored (in hex, one line) in ``path``.

    Raises
    ------
    FileNotFoundError
        No such file (make one with ``psymodal pseudonym-key PATH``).
    ValueError
        The file does not hold at least 32 hex characters.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no pseudonym key; create one with `psymodal pseudonym-key {path}` and keep "
            "it outside the results and the shared copy"
        )
    text = path.read_text().strip()
    if len(text) < _MIN_KEY_HEX or len(text) % 2 or not _HEX.match(text):
        raise ValueError(
            f"{path}: a pseudonym key is one line of an even number (at least {_MIN_KEY_HEX}) "
            "of hex digits"
        )
    return bytes.fromhex(text)


def write_key(path: str | os.PathLike, seed: int | None = None) -> Path:
    """Write a new key (256 random bits, or derived from a demo ``seed``) to a new file.

    An existing key is never overwritten: losing it breaks the link to earlier shared copies.
    """
    from psymodal.io.tables import atomic_write

    path = Path(path)
    if path.exists():
        raise ValueError(f"{path}: a key already exists; it is never overwritten")
    key = os.urandom(32).hex() if seed is None else demo_key(seed).hex()
    atomic_write(path, lambda tmp: tmp.write_text(key + "\n"))
    os.chmod(path, 0o600)
    return path


def demo_key(seed: int) -> bytes:
    """The demo study's key, derived from its seed: reproducible and therefore not secret."""
    return hashlib.sha256(f"psymodal demo pseudonym key {int(seed)}".encode()).digest()


def pseudonym(label: str, key: bytes, length: int = 12) -> str:
    """The pseudonym label (hex, BIDS-valid) of a participant label such as ``"01"``."""
    return hmac.new(key, f"participant:{label}".encode(), hashlib.sha256).hexdigest()[:length]


def speaker_uniform(label: str, key: bytes) -> float:
    """A number in [0, 1) drawn from the key for one (pseudonymised) speaker: per-speaker
    anonymiser parameters that an attacker without the key cannot replay."""
    digest = hmac.new(key, f"speaker:{label}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def bin_age(value, width: int = 5, top: int = 90) -> str:
    """An age as a bin label: ``"25-29"`` for width 5, ``"90+"`` from ``top`` on, ``"n/a"``
    for a missing or non-numeric value.
    """
    try:
        age = float(value)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(age) or age < 0:
        return "n/a"
    if age >= top:
        return f"{top}+"
    low = int(age // width) * width
    return f"{low}-{min(low + width, top) - 1}"
