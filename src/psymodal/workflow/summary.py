"""The end-of-run summary the workflow prints: time per step, who was left out and why, and
which jobs failed.

Called by the Snakefile's ``onsuccess:`` and ``onerror:`` handlers, so that the console says
how long each step took (from the start and end times in Snakemake's log of the run), which
subjects were excluded (the file and the reason, from the per-batch QC tables) and, when a job
failed, which subjects it held and the error lines of its log, not only a log path.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path
from typing import TextIO

from psymodal.io.tables import read_tsv
from psymodal.workflow.progress import PROGRESS_LINE, format_duration

__all__ = [
    "error_lines",
    "excluded_subjects",
    "failed_job_logs",
    "job_times",
    "print_run_summary",
    "step_times",
]

_ERROR_BLOCK = re.compile(r"^\s*(?:Error in )?rule (?P<rule>\w+)[:,]")
_LOG_LINE = re.compile(r"^\s*log: (?P<logs>.*) \(check log file\(s\) for error details\)\s*$")
_BATCH_LOG = re.compile(r"(?P<stage>mri|speech|language)_batch-(?P<batch>\d+)\.log$")
# lines of a job log that carry the error itself
_ERROR_LINE = re.compile(
    r"(^psymodal [\w-]+: (error|failed)|^\w*(Error|Exception)\b|^sub-\w+: \w+ excluded: )"
)
# Snakemake's log: "[Mon Nov 30 04:25:22 2026]" (time.asctime) before a job starts, ends or fails
_STAMP = re.compile(
    r"^\[\w{3} (?P<month>\w{3}) +(?P<day>\d+) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d) (?P<y>\d{4})\]$"
)
_JOB_START = re.compile(r"^(?:local)?rule (?P<rule>\w+):$")
_JOB_FAILED = re.compile(r"^Error in rule (?P<rule>\w+):$")
_JOB_ID = re.compile(r"^\s+jobid: (?P<id>\d+)$")
_JOB_FINISHED = re.compile(r"^Finished jobid: (?P<id>\d+) \(Rule: (?P<rule>\w+)\)$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def excluded_subjects(plan) -> list[dict] | None:
    """Rows (``participant_id``, ``modality``, ``reason``) of every subject excluded from a
    modality, read from the batch QC tables that exist (a failed run still has some); None
    when there is no QC table yet."""
    rows, seen = [], False
    for modality in plan.modalities:
        for index in range(len(plan.batches())):
            path = plan.batch_table(modality, index, "qc")
            if not path.is_file():
                continue
            table = read_tsv(path, dtype={"participant_id": str})
            seen = True
            if "included" not in table:
                continue
            included = table["included"].astype(str).str.lower().isin(["true", "1", "1.0"])
            for _, row in table[~included].iterrows():
                reason = row.get("reason")
                rows.append(
                    {
                        "participant_id": row["participant_id"],
                        "modality": modality,
                        "reason": str(reason) if isinstance(reason, str) else "no reason given",
                    }
                )
    return rows if seen else None


def _log_text(snakemake_log) -> str:
    """Snakemake's own log: a path, a list of paths as Snakemake's handlers receive, or None."""
    if not snakemake_log:
        return ""
    if isinstance(snakemake_log, str | os.PathLike):
        snakemake_log = [snakemake_log]
    return "\n".join(
        Path(log).read_text(errors="replace") for log in snakemake_log if Path(log).is_file()
    )


def _stamp_seconds(match: re.Match) -> float:
    """Seconds since the epoch of an asctime stamp (local time, as Snakemake writes it;
    parsed by hand, as ``strptime`` would read month names in the user's locale)."""
    return time.mktime(
        (
            int(match["y"]),
            _MONTHS.index(match["month"]) + 1,
            int(match["day"]),
            int(match["h"]),
            int(match["m"]),
            int(match["s"]),
            0,
            0,
            -1,
        )
    )


def job_times(snakemake_log) -> list[dict]:
    """Every job of a run with its rule, start, end (seconds since the epoch, to the second
    Snakemake's log gives) and whether it failed; a job without an end yet has ``end`` None.

    On a cluster the start is the job's submission, as Snakemake logs it.
    """
    jobs: dict[str, dict] = {}
    stamp, opened = None, None  # the last timestamp; the rule of the block it opened
    for line in _log_text(snakemake_log).splitlines():
        if match := _STAMP.match(line):
            stamp, opened = _stamp_seconds(match), None
        elif stamp is None:
            continue
        elif match := _JOB_START.match(line):
            opened = (match["rule"], False)
        elif match := _JOB_FAILED.match(line):
            opened = (match["rule"], True)
        elif (match := _JOB_ID.match(line)) and opened is not None:
            rule, failed = opened
            job = jobs.setdefault(
                match["id"], {"rule": rule, "start": stamp, "end": None, "failed": False}
            )
            if failed:
                job.update(end=stamp, failed=True)
            opened = None
        elif match := _JOB_FINISHED.match(line):
            job = jobs.setdefault(
                match["id"], {"rule": match["rule"], "start": stamp, "end": None, "failed": False}
            )
            job["end"] = stamp
    return list(jobs.values())


def step_times(snakemake_log) -> list[dict]:
    """Per rule of a run, in the order they started: ``rule``, ``jobs``, ``wall`` (first start
    to last end, seconds), ``job_time`` (the jobs' durations summed: more than ``wall`` when
    jobs ran side by side) and ``failed`` (jobs that failed). Jobs still running are left out.
    """
    steps: dict[str, dict] = {}
    for job in sorted(job_times(snakemake_log), key=lambda j: j["start"]):
        if job["end"] is None or job["rule"] == "all":
            continue
        step = steps.setdefault(
            job["rule"],
            {
                "rule": job["rule"],
                "jobs": 0,
                "first": job["start"],
                "last": job["end"],
                "job_time": 0.0,
                "failed": 0,
            },
        )
        step["jobs"] += 1
        step["last"] = max(step["last"], job["end"])
        step["job_time"] += job["end"] - job["start"]
        step["failed"] += job["failed"]
    return [
        {
            "rule": s["rule"],
            "jobs": s["jobs"],
            "wall": s["last"] - s["first"],
            "job_time": s["job_time"],
            "failed": s["failed"],
        }
        for s in steps.values()
    ]


def _time_lines(steps: list[dict]) -> list[str]:
    if not steps:
        return []
    width = max(len(s["rule"]) for s in steps)
    lines = ["psymodal: time per step (from Snakemake's log, to the second):"]
    for s in steps:
        jobs = f"{s['jobs']} job{'s' if s['jobs'] != 1 else ''}"
        line = f"  {s['rule']:<{width}}  {jobs:>8}  {format_duration(s['wall'], tenths=False):>12}"
        if s["jobs"] > 1:
            line += f"  ({format_duration(s['job_time'], tenths=False)} of job time)"
        if s["failed"]:
            line += f"  {s['failed']} failed"
        lines.append(line)
    return lines


def failed_job_logs(snakemake_log) -> list[tuple[str, Path]]:
    """``(rule, job log)`` of every failed job named in Snakemake's own log (a path, a list of
    paths as Snakemake's handlers receive, or None)."""
    text = _log_text(snakemake_log)
    if not text:
        return []
    found, rule = [], None
    for line in text.splitlines():
        block = _ERROR_BLOCK.match(line)
        if block:
            rule = block["rule"]
            continue
        logs = _LOG_LINE.match(line)
        if logs and rule:
            for log in logs["logs"].split(", "):
                if (rule, Path(log)) not in found:
                    found.append((rule, Path(log)))
    return found


def error_lines(job_log: str | os.PathLike, limit: int = 8) -> list[str]:
    """The lines of a job log that say what went wrong (the last ones when it is long)."""
    try:
        text = Path(job_log).read_text(errors="replace")
    except OSError:
        return []
    lines = [
        line.rstrip()
        for line in text.splitlines()
        if line.strip() and not PROGRESS_LINE.match(line)
    ]
    chosen = [line for line in lines if _ERROR_LINE.search(line)]
    return (chosen or lines[-3:])[-limit:]


def _batch_subjects(plan, log: Path) -> list[str]:
    match = _BATCH_LOG.search(log.name)
    if not match:
        return []
    try:
        return plan.batch(match["batch"])
    except IndexError:
        return []


def print_run_summary(plan, snakemake_log=None, failed: bool = False, file: TextIO = None) -> None:
    """Print the time per step, the excluded subjects and, for a failed run, each failed job
    with its subjects and error lines.

    Parameters
    ----------
    plan : psymodal.workflow.plan.StudyPlan
    snakemake_log : path or list of paths, optional
        Snakemake's log of this run (the ``log`` its handlers receive).
    failed : bool
        Whether the run failed (``onerror``).
    file : text stream
        Where to print; standard error by default (Snakemake's console).
    """
    out = file or sys.stderr
    excluded = excluded_subjects(plan)
    lines = _time_lines(step_times(snakemake_log))
    if excluded:
        lines.append(f"psymodal: {len(excluded)} subject/modality pair(s) excluded:")
        for row in excluded:
            lines.append(f"  {row['participant_id']} [{row['modality']}]: {row['reason']}")
    if failed:
        jobs = failed_job_logs(snakemake_log)
        lines.append(f"psymodal: the run failed ({len(jobs)} failed job(s) named below).")
        for rule, log in jobs:
            subjects = _batch_subjects(plan, log)
            held = f" (subjects {', '.join(subjects)})" if subjects else ""
            lines.append(f"  {rule}{held}: {log}")
            lines.extend(f"    {line}" for line in error_lines(log))
        if plan.config.get("strict"):
            lines.append(
                "  strict is true: an unusable input stops its job. With strict: false the "
                "subject is excluded with the error as its QC reason and the study goes on."
            )
    elif excluded == []:
        lines.append("psymodal: every subject was included in every modality.")
    if lines:
        print("\n".join(lines), file=out, flush=True)
