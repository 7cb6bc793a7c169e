"""Privacy figures measured by psymodal's benchmarks, each with where it is written and how.

Figures that a run cannot measure on its own data (a voice anonymiser's equal error rates need
many recordings per speaker; a study of 12 participants says little about fingerprinting in
100) are quoted from ``benchmarks/RESULTS.md``. Every quote carries the section it comes from
and the command that measured it, so a reader of ``linkage_risk.json`` or of the report can
check it; ``tests/test_privacy_published.py`` checks that each figure is written in its section.
"""

from __future__ import annotations

__all__ = ["PUBLISHED", "published_entry"]

_RESULTS = "benchmarks/RESULTS.md"

#: name -> the figure, in words and numbers, with its source section and command.
PUBLISHED: dict[str, dict] = {
    "connectome_fingerprinting": {
        "what": (
            "connectome fingerprinting (Finn et al. 2015), half-run -> other half, top-1 "
            "identification rate"
        ),
        "data": "ABIDE 100 (100 participants, DPARSF AAL time series)",
        "figures": {"top1": 0.940, "chance": 0.010},
        "section": (
            "Privacy: re-identification and attribute inference from released connectomes "
            "(ABIDE 100)"
        ),
        "command": "python benchmarks/privacy_attacks.py --data /work/shared/data/abide100",
    },
    "speech_feature_linkage": {
        "what": (
            "speech-feature linkage, session average (a random half of a speaker's recordings "
            "against the other half), top-1"
        ),
        "data": "FSDD (6 speakers, 600 recordings)",
        "figures": {"top1": 0.977, "chance": 0.167},
        "section": "Privacy: speech-feature linkage (FSDD)",
        "command": "python benchmarks/privacy_linkage_speech.py --speech /work/shared/data/speech",
    },
    "voice_anonymiser_world": {
        "what": (
            "equal error rate of speaker verification against audio anonymised by `world` "
            "(the shareable copy's default), per attacker, z-MFCC / Resemblyzer embeddings "
            "(0.5 = chance; targets: ignorant >= 0.40, semi-informed >= 0.20)"
        ),
        "data": "FSDD (6 speakers; 2,400 target and 12,000 non-target trials)",
        "figures": {
            "ignorant_eer": [0.336, 0.351],
            "lazy_informed_eer": [0.315, 0.331],
            "semi_informed_eer": [0.257, 0.267],
            "original_audio_eer": [0.093, 0.057],
        },
        "section": "Privacy: voice anonymisers against the three VoicePrivacy attackers (FSDD)",
        "command": "python benchmarks/privacy_voice.py --speech /work/shared/data/speech",
    },
}


def published_entry(name: str) -> dict:
    """A copy of one published figure with its source spelled out (``source``: file and section).

    Parameters
    ----------
    name : str
        A key of :data:`PUBLISHED`.

    Returns
    -------
    dict
        ``what``, ``data``, ``figures``, ``source`` and ``command``.
    """
    entry = PUBLISHED[name]
    return {
        "what": entry["what"],
        "data": entry["data"],
        "figures": dict(entry["figures"]),
        "source": f"{_RESULTS}, section '{entry['section']}'",
        "command": entry["command"],
    }
