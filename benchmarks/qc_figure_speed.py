"""Share of the QC figures in the per-subject stages' time.

Speech: for each recording, the stage's analysis (read + ``analyse_recording``) against
``recording_qc_figure``; MRI: a 10 s-class run's QC figure (``psymodal.mri.figures.qc_figure``)
against the stage's extraction of the same synthetic run. Each part is timed alternately
(``--repeats``) in this process and the medians are compared; target: the figure costs at most
25 % of the stage's time (figure / (analysis + figure)).

Usage::

    python benchmarks/qc_figure_speed.py [--repeats 5] [--speech-only]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

SPEECH = Path("/work/shared/data/speech")


def _recordings() -> list[Path]:
    files = sorted((SPEECH / "librispeech").glob("*.ogg")) + sorted((SPEECH / "pcgita").glob("*"))
    files += sorted((SPEECH / "fsdd").glob("*.wav"))[:5]
    return [f for f in files if f.suffix in (".ogg", ".wav", ".flac")]


def speech_share(repeats: int, out: Path) -> dict:
    from psymodal.settings import resolve_section
    from psymodal.speech.audio import read_audio
    from psymodal.speech.features import analyse_recording
    from psymodal.speech.figures import recording_qc_figure

    cfg = resolve_section("speech", {})
    files = _recordings()
    if not files:
        return {}
    analysis_s, figure_s = [], []
    for _ in range(repeats):
        t0 = time.process_time()
        done = []
        for path in files:
            audio = read_audio(path, cfg["sample_rate"], cfg["channels"], shown=path.name)
            done.append((path, audio, analyse_recording(audio.y, audio.sr, cfg, audio.native_sr)))
        t1 = time.process_time()
        for path, audio, analysis in done:
            recording_qc_figure(out / f"{path.stem}.png", audio.y, audio.sr, analysis, path.name)
        t2 = time.process_time()
        analysis_s.append(t1 - t0)
        figure_s.append(t2 - t1)
    a, f = statistics.median(analysis_s), statistics.median(figure_s)
    return {
        "recordings": len(files),
        "analysis_cpu_s": a,
        "figure_cpu_s": f,
        "figure_share_of_stage": f / (a + f),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from psymodal.workflow.threads import limit_threads

    _threads = limit_threads(1)  # noqa: F841
    with tempfile.TemporaryDirectory() as tmp:
        result = {"speech": speech_share(args.repeats, Path(tmp))}
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
