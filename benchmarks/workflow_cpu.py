"""CPU cost of one workflow run, per step: two library checkouts on the same jobs, alternately.

Every job of a workflow run is one shell command (``python -m psymodal.cli ...``), printed in
Snakemake's log of that run (``Shell command:``, with ``snakemake -p``). This script takes a
finished run (``--workdir``), copies its folder once per checkout (``--src NAME=PATH``, the
first one is the baseline) and re-runs every job's command there in the run's order, with
``PYTHONPATH`` pointing at that checkout's ``src``; the checkouts take turns job by job (and
repeat by repeat), so that both see the same load. The CPU time of a job is its process tree's
user + system time (``os.wait4``). It prints, per rule, the median over repeats of the summed
CPU seconds of that rule's jobs, for each checkout, and the ratio against the baseline.

Then it compares every file under ``results/`` and ``resources/`` of each copy with the
original run (sha256). Files that differ between the original and the *baseline's* re-run
hold times or paths (logs, provenance records): they are listed and left out; every other
file of every checkout must be byte-identical to the original, else the script says which
and exits with status 1. ``dataset_description.json`` files are compared without their
``GeneratedBy`` ``Commit`` line, the git commit of the checkout that wrote them.

Usage (one BLAS thread, as the workflow's one-core jobs)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
    python benchmarks/workflow_cpu.py --workdir /tmp/s6_base \\
        --src main=/work/main/src --src branch=src --repeats 2 --skip learn

``--workdir`` is a folder where ``snakemake -p --cores 1`` ran to the end (its
``.snakemake/log/`` holds one log). The copies go to ``--scratch`` (default: a temporary
folder, removed at the end).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

_RULE = re.compile(r"^(?:local)?rule (?P<rule>\w+):$")
_SHELL = re.compile(r"^Shell command: (?P<cmd>.*)$")
_PYTHONPATH = re.compile(r"PYTHONPATH=(?P<src>\S+?)\$\{PYTHONPATH")


def jobs_of(workdir: Path) -> list[tuple[str, str]]:
    """(rule, shell command) of every job in the run's Snakemake log, in the order they ran."""
    (log,) = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))[-1:]
    jobs, rule = [], None
    for line in log.read_text().splitlines():
        if match := _RULE.match(line):
            rule = match["rule"]
        elif (match := _SHELL.match(line)) and rule is not None:
            if match["cmd"] != "None" and "psymodal.cli" in match["cmd"]:
                jobs.append((rule, match["cmd"]))
            rule = None
    return jobs


def run_job(command: str, src: Path, cwd: Path) -> float:
    """Run ``command`` with its ``PYTHONPATH`` set to ``src``; user + system CPU seconds."""
    command = _PYTHONPATH.sub(f"PYTHONPATH={src}${{PYTHONPATH", command)
    process = subprocess.Popen(["bash", "-c", command], cwd=cwd)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"job failed ({process.returncode}) in {cwd}: {command[:300]}")
    return usage.ru_utime + usage.ru_stime


def _content(path: Path) -> bytes:
    """The bytes compared: a ``dataset_description.json`` without its ``Commit`` line (the git
    commit of the code that ran, absent outside a git checkout: it differs by design)."""
    data = path.read_bytes()
    if path.name == "dataset_description.json":
        data = re.sub(rb'\n\s*"Commit": "[^"]*",?', b"", data)
    return data


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``results/`` and ``resources/`` (links: their target text)."""
    out = {}
    for top in ("results", "resources"):
        for path in sorted((folder / top).rglob("*")):
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                out[rel] = hashlib.sha256(_content(path)).hexdigest()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--src", action="append", required=True, help="NAME=PATH; first: baseline")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[], help="rules not re-run (e.g. learn)")
    parser.add_argument("--scratch", type=Path, default=None)
    parser.add_argument(
        "--warm",
        nargs="*",
        default=["speech_batch"],
        help="rules whose first job runs once per checkout, untimed, before the timed runs "
        "(numba compiles and caches the speech kernels of a checkout on its first call)",
    )
    args = parser.parse_args()
    srcs = dict(item.split("=", 1) for item in args.src)
    srcs = {name: Path(path).resolve() for name, path in srcs.items()}
    names = list(srcs)
    workdir = args.workdir.resolve()
    jobs = jobs_of(workdir)
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="workflow_cpu-"))
    copies = {}
    for name in names:
        copies[name] = scratch / name
        if copies[name].exists():
            shutil.rmtree(copies[name])
        shutil.copytree(workdir, copies[name], symlinks=True)
    print(f"{len(jobs)} jobs from {workdir}; load average {os.getloadavg()[0]:.2f}", flush=True)
    for rule in args.warm:
        command = next((c for r, c in jobs if r == rule), None)
        for name in names if command else []:
            run_job(command, srcs[name], copies[name])
    cpu = {name: defaultdict(lambda: [0.0] * args.repeats) for name in names}
    started = time.time()
    for rule, command in jobs:
        if rule in args.skip:
            continue
        for repeat in range(args.repeats):
            # alternate which checkout goes first, so neither always runs on a warm cache
            order = names if repeat % 2 == 0 else names[::-1]
            for name in order:
                cpu[name][rule][repeat] += run_job(command, srcs[name], copies[name])
    print(
        f"re-ran in {time.time() - started:.0f} s; load average {os.getloadavg()[0]:.2f}\n",
        flush=True,
    )
    base = names[0]
    rules = list(cpu[base])
    header = f"{'rule':<22}" + "".join(f"{n + ' CPU s':>14}" for n in names)
    print(header + "".join(f"{n + '/' + base:>16}" for n in names[1:]))
    totals = {name: [0.0] * args.repeats for name in names}
    for rule in rules:
        med = {name: statistics.median(cpu[name][rule]) for name in names}
        for name in names:
            totals[name] = [t + c for t, c in zip(totals[name], cpu[name][rule], strict=True)]
        line = f"{rule:<22}" + "".join(f"{med[n]:>14.2f}" for n in names)
        print(line + "".join(f"{med[n] / med[base]:>16.2f}" for n in names[1:]))
    med = {name: statistics.median(totals[name]) for name in names}
    line = f"{'total':<22}" + "".join(f"{med[n]:>14.2f}" for n in names)
    print(line + "".join(f"{med[n] / med[base]:>16.2f}" for n in names[1:]))
    print("\nper repeat (CPU s):", {n: [round(t, 1) for t in totals[n]] for n in names})

    reference = digests(workdir)
    produced = {name: digests(copies[name]) for name in names}
    varying = sorted(k for k in reference if produced[base].get(k) != reference[k])
    print(f"\nfiles compared: {len(reference)}; differ between two runs of {base} (left out):")
    for rel in varying:
        print(f"  {rel}")
    failed = False
    for name in names[1:]:
        differ = sorted(
            k
            for k in set(reference) | set(produced[name])
            if k not in varying and produced[name].get(k) != reference.get(k)
        )
        same = len(reference) - len(varying) - len(differ)
        print(f"{name}: {same} files byte-identical to the original run, {len(differ)} differ")
        for rel in differ:
            print(f"  DIFFERS: {rel}")
        failed |= bool(differ)
    if args.scratch is None:
        shutil.rmtree(scratch)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
