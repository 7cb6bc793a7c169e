"""Progress of long jobs: one line per subject, and the console echo of those lines.

A per-subject stage job (a batch of the MRI, speech or language stage) writes to its log
only; a batch of 50 recordings may run for minutes. :func:`track` gives the stages one shared
line per finished subject, with its time, the time elapsed and an estimate of the time left::

    psymodal speech: subject 3/12 sub-04 done in 1.2 s, elapsed 4 s, ETA 8 s

:class:`LogFollower` echoes those lines from the job logs to the console of a process that
runs the workflow in-process (``psymodal bids-app``), where Snakemake itself says only
"N of M steps done".
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

__all__ = ["PROGRESS_LINE", "LogFollower", "format_duration", "track"]

#: A line written by :func:`track` (the follower echoes these and nothing else).
PROGRESS_LINE = re.compile(r"^psymodal [\w-]+: subject \d+/\d+ ")


def format_duration(seconds: float, tenths: bool = True) -> str:
    """A short human duration: ``0.4 s``, ``12 s``, ``3 min 05 s``, ``2 h 04 min``.

    Tenths of a second are shown under 10 s unless ``tenths`` is False (times known to the
    second only)."""
    seconds = max(0.0, float(seconds))
    if seconds < 10 and tenths:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def track(
    subjects: Iterable[str],
    command: str,
    file: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[str]:
    """Yield ``subjects``, writing one progress line after each one's work is done.

    The line is written when the loop asks for the next subject (or ends), so a subject whose
    work raised gets none. The estimate of the time left is the mean time per subject so far
    times the subjects left.

    Parameters
    ----------
    subjects : iterable of str
        The batch's participant ids.
    command : str
        The stage (``mri``, ``speech``, ``language``), named at the start of each line.
    file : text stream, optional
        Where to write; standard error (the job's log) by default.
    clock : callable, optional
        Seconds, monotonic (a fake clock in tests).

    Examples
    --------
    >>> for subject in track(["sub-01", "sub-02"], "speech"):  # doctest: +SKIP
    ...     process(subject)
    """
    subjects = list(subjects)
    total = len(subjects)
    start = clock()
    for index, subject in enumerate(subjects, start=1):
        began = clock()
        yield subject
        now = clock()
        elapsed = now - start
        left = elapsed / index * (total - index)
        print(
            f"psymodal {command}: subject {index}/{total} {subject} done in "
            f"{format_duration(now - began)}, elapsed {format_duration(elapsed)}, "
            f"ETA {format_duration(left)}",
            file=file or sys.stderr,
            flush=True,
        )


class LogFollower:
    """Echo the progress lines that job logs gain while a workflow runs, on a thread.

    Logs matched by ``patterns`` are polled every ``interval`` seconds; their lines that
    match :data:`PROGRESS_LINE` are written to ``file``, after the log's name (``[speech_batch-2]``:
    the subject counts are per job). What a log held before
    :meth:`start` is not echoed; a log truncated since (a job rerun) is read from its start.

    Parameters
    ----------
    patterns : list of (folder, glob)
        Where the job logs are (e.g. a stage's ``logs`` folder and ``*_batch-*.log``).
    file : text stream, optional
        The console; standard error by default.
    interval : float
        Seconds between polls.

    Examples
    --------
    >>> with LogFollower([(stage_dir / "logs", "*_batch-*.log")]):  # doctest: +SKIP
    ...     run_the_workflow()
    """

    def __init__(
        self,
        patterns: list[tuple[Path, str]],
        file: TextIO | None = None,
        interval: float = 1.0,
    ):
        self.patterns = [(Path(folder), glob) for folder, glob in patterns]
        self.file = file
        self.interval = interval
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _logs(self) -> list[Path]:
        return sorted(p for folder, glob in self.patterns for p in folder.glob(glob))

    def start(self) -> LogFollower:
        for log in self._logs():
            self._offsets[log] = log.stat().st_size
        self._thread = threading.Thread(target=self._follow, name="psymodal-progress", daemon=True)
        self._thread.start()
        return self

    def poll(self) -> None:
        """Echo the progress lines written since the last poll."""
        out = self.file or sys.stderr
        for log in self._logs():
            try:
                size = log.stat().st_size
                offset = self._offsets.get(log, 0)
                if size < offset:  # truncated: the job was started again
                    offset, self._partial[log] = 0, ""
                if size == offset:
                    continue
                with log.open("rb") as stream:
                    stream.seek(offset)
                    data = stream.read(size - offset)
            except OSError:
                continue
            self._offsets[log] = offset + len(data)
            text = self._partial.get(log, "") + data.decode(errors="replace")
            *lines, self._partial[log] = text.split("\n")
            for line in lines:
                if PROGRESS_LINE.match(line):  # batches run side by side: name the job
                    print(f"[{log.stem}] {line.rstrip()}", file=out, flush=True)

    def _follow(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def stop(self) -> None:
        """Stop following, after one last poll."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.poll()

    def __enter__(self) -> LogFollower:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
