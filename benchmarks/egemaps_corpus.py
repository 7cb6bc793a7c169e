"""The eGeMAPS validation corpus: real speech from ../shared plus generated speech.

Real: Free Spoken Digit Dataset (8 kHz digits, an evenly spaced sample), LibriSpeech
(read speech, 16 kHz), PC-GITA (Parkinson's disease samples, 16 kHz) and CMU ARCTIC from
``../shared/data/speech``. Generated: espeak-ng (Debian package) sentences in several
languages, voice variants, rates and pitches, at espeak's native 22.05 kHz; and recordings of
the demo study's source-filter voice generator (:mod:`psymodal.demo.voice`), cut to 6 s.

Every file is assigned to the *tuning* or the *held-back* half by a hash of its name, so the
split is the same on every machine and does not depend on the order of files. Definitions
are chosen looking at the tuning half only; the fidelity table reports the held-back half.

Nothing is written into the repository: generated files go to a cache folder (default
``$TMPDIR/psymodal_egemaps_corpus``), made again when missing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SENTENCES = {
    "en": [
        "The quick brown fox jumps over the lazy dog.",
        "Please call Stella and ask her to bring these things with her from the store.",
        "I was not sure, so I waited a moment before I answered.",
        "Yesterday the weather was cold, but today it is warm and bright.",
        "Seven.",
        "Where are you going this afternoon?",
    ],
    "de": ["Der Nordwind und die Sonne stritten sich, wer von ihnen der Stärkere wäre."],
    "fr": ["La bise et le soleil se disputaient, chacun assurant qu'il était le plus fort."],
    "es": ["El viento norte y el sol discutían sobre cuál de ellos era el más fuerte."],
    "it": ["Si bisticciavano un giorno il vento di tramontana e il sole."],
    "nl": ["De noordenwind en de zon waren erover aan het redetwisten wie de sterkste was."],
}
VARIANTS = ["m1", "m3", "m5", "m7", "f1", "f2", "f4", "croak", "klatt", "klatt3", "Andrea", "Gene"]


@dataclass(frozen=True)
class CorpusFile:
    """One validation recording: its path, corpus name and half (``tuning``/``held_back``)."""

    path: Path
    corpus: str
    half: str


def half_of(name: str) -> str:
    """``tuning`` or ``held_back``, from a hash of the file name (stable everywhere)."""
    digest = hashlib.sha1(name.encode()).digest()
    return "tuning" if digest[0] % 2 == 0 else "held_back"


def _real(speech: Path, n_fsdd: int) -> list[tuple[Path, str]]:
    files = [(p, "librispeech") for p in sorted((speech / "librispeech").glob("*.ogg"))]
    files += [(p, "librispeech") for p in sorted((speech / "librispeech_testclean").glob("*.flac"))]
    files += [(p, "pcgita") for p in sorted((speech / "pcgita").glob("*.wav"))]
    files += [(p, "arctic") for p in sorted((speech / "arctic").glob("*.wav"))]
    fsdd = sorted((speech / "fsdd").glob("*.wav"))
    if fsdd and n_fsdd > 0:
        step = max(len(fsdd) // n_fsdd, 1)
        files += [(p, "fsdd") for p in fsdd[::step][:n_fsdd]]
    return files


def _espeak(cache: Path, n: int) -> list[tuple[Path, str]]:
    """``n`` espeak-ng sentences cycling through languages, variants, rates and pitches."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        # a corpus without them is another corpus (99 instead of 156 tuning files): say so
        print(
            "egemaps_corpus: espeak-ng not found (apt-get install espeak-ng): the "
            f"{n} espeak-ng files are left out of this corpus",
            file=sys.stderr,
        )
        return []
    out = cache / "espeak"
    out.mkdir(parents=True, exist_ok=True)
    texts = [(lang, s) for lang, sents in SENTENCES.items() for s in sents]
    rng = np.random.default_rng(17)
    files = []
    for i in range(n):
        lang, text = texts[i % len(texts)]
        variant = VARIANTS[(i * 5) % len(VARIANTS)]
        rate = int(rng.integers(110, 260))
        pitch = int(rng.integers(10, 90))
        amplitude = int(rng.integers(40, 180))
        path = out / f"espeak_{i:03d}_{lang}_{variant}_s{rate}_p{pitch}_a{amplitude}.wav"
        if not path.exists():
            cmd = [exe, "-v", f"{lang}+{variant}", "-s", str(rate), "-p", str(pitch)]
            cmd += ["-a", str(amplitude), "-w", str(path), text]
            # espeak-ng exits 0 even on a bad option: check that the file was written
            subprocess.run(cmd, check=True, capture_output=True)
            if not path.exists():
                raise RuntimeError(f"espeak-ng wrote no file: {' '.join(cmd)}")
        files.append((path, "espeak"))
    return files


def _demo(cache: Path, n: int) -> list[tuple[Path, str]]:
    """``n`` recordings of the demo voice generator (both sexes, both groups), cut to 6 s."""
    from psymodal.demo.spec import DemoSpec, subject_parameters
    from psymodal.demo.voice import SAMPLE_RATE, synthesize
    from psymodal.demo.write import write_wav

    out = cache / "demo"
    out.mkdir(parents=True, exist_ok=True)
    spec = DemoSpec(n_subjects=max(n, 4), n_sites=4, seed=17, speech_seconds=(6.0, 9.0))
    files = []
    for params in subject_parameters(spec)[:n]:
        path = out / f"demo_{params.participant_id}.wav"
        if not path.exists():
            audio, _ = synthesize(params, np.random.default_rng(params.number))
            write_wav(path, audio[: 6 * SAMPLE_RATE], SAMPLE_RATE)
        files.append((path, "demo"))
    return files


def corpus(
    speech: Path | None, n_fsdd: int = 160, n_espeak: int = 120, n_demo: int = 24, cache=None
) -> list[CorpusFile]:
    """The validation corpus (real files when ``speech`` is given, generated files always)."""
    cache = Path(cache or Path(tempfile.gettempdir()) / "psymodal_egemaps_corpus")
    files = _real(speech, n_fsdd) if speech is not None else []
    files += _espeak(cache, n_espeak) + _demo(cache, n_demo)
    return [CorpusFile(p, c, half_of(p.name)) for p, c in files]
