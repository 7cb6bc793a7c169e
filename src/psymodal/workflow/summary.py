"""The end-of-run summary the workflow prints: who was left out, why, and which jobs failed.

Called by the Snakefile's ``onsuccess:`` and ``onerror:`` handlers, so that the console says
which subjects were excluded (the file and the reason, from the per-batch QC tables) and, when
a job failed, which subjects it held and the error lines of its log, not only a log path.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TextIO

from psymodal.io.tables import read_tsv

__all__ = ["error_lines", "excluded_subjects", "failed_job_logs", "print_run_summary"]

_ERROR_BLOCK = re.compile(r"^\s*(?:Error in )?rule (?P<rule>\w+)[:,]")
_LOG_LINE = re.compile(r"^\s*log: (?P<logs>.*) \(check log file\(s\) for error details\)\s*$")
_BATCH_LOG = re.compile(r"(?P<stage>mri|speech|language)_batch-(?P<batch>\d+)\.log$")
# lines of a job log that carry the error itself
_ERROR_LINE = re.compile(
    r"(^psymodal [\w-]+: (error|failed)|^\w*(Error|Exception)\b|^sub-\w+: \w+ excluded: )"
)


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


def failed_job_logs(snakemake_log) -> list[tuple[str, Path]]:
    """``(rule, job log)`` of every failed job named in Snakemake's own log (a path, a list of
    paths as Snakemake's handlers receive, or None)."""
    if not snakemake_log:
        return []
    if isinstance(snakemake_log, str | os.PathLike):
        snakemake_log = [snakemake_log]
    text = "\n".join(
        Path(log).read_text(errors="replace") for log in snakemake_log if Path(log).is_file()
    )
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
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
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
    """Print the excluded subjects and, for a failed run, each failed job with its subjects and
    error lines.

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
    lines = []
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
