"""Progress of long runs: a line per subject in the stage jobs' logs (elapsed time and ETA),
the BIDS-App console's echo of those lines, and the end-of-run time per step."""

from __future__ import annotations

import io
import itertools

from psymodal.workflow.progress import LogFollower, format_duration, track
from psymodal.workflow.summary import print_run_summary, step_times

# Snakemake 9's log of a run (abridged): two batches side by side, one fails.
SNAKEMAKE_LOG = """\
Building DAG of jobs...
Job stats:
job  count
[Mon Nov 30 04:25:22 2026]
localrule speech_batch:
    output: a
    jobid: 9
    wildcards: batch=0
[Mon Nov 30 04:25:22 2026]
localrule speech_batch:
    jobid: 11
[Mon Nov 30 04:25:29 2026]
Error in rule speech_batch:
    message: None
    jobid: 9
    log: x.log (check log file(s) for error details)
[Mon Nov 30 04:25:31 2026]
Finished jobid: 11 (Rule: speech_batch)
1 of 16 steps (6%) done
[Mon Nov 30 04:25:31 2026]
rule learn:
    jobid: 2
[Mon Nov 30 04:27:06 2026]
Finished jobid: 2 (Rule: learn)
[Mon Nov 30 04:27:06 2026]
localrule all:
    jobid: 0
[Mon Nov 30 04:27:06 2026]
Finished jobid: 0 (Rule: all)
"""


def test_durations_read_as_people_write_them():
    assert format_duration(0.42) == "0.4 s"
    assert format_duration(4, tenths=False) == "4 s"
    assert format_duration(59.6) == "1 min 00 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_duration(2 * 3600 + 4 * 60 + 10) == "2 h 04 min"
    assert format_duration(-1) == "0.0 s"


def test_one_line_per_finished_subject_with_elapsed_time_and_eta():
    ticks = itertools.count(0.0, 1.0)  # each clock() call is one second later
    out = io.StringIO()
    seen = [s for s in track(["sub-01", "sub-02", "sub-03"], "mri", out, lambda: next(ticks))]
    assert seen == ["sub-01", "sub-02", "sub-03"]
    lines = out.getvalue().splitlines()
    assert lines[0] == "psymodal mri: subject 1/3 sub-01 done in 1.0 s, elapsed 2.0 s, ETA 4.0 s"
    assert lines[-1].startswith("psymodal mri: subject 3/3 sub-03 done in 1.0 s")
    assert lines[-1].endswith("ETA 0.0 s")


def test_a_subject_whose_work_raised_gets_no_line():
    out = io.StringIO()
    try:
        for subject in track(["sub-01", "sub-02"], "speech", out):
            if subject == "sub-02":
                raise RuntimeError("bad file")
    except RuntimeError:
        pass
    assert [line.split()[3] for line in out.getvalue().splitlines()] == ["1/2"]


def test_stage_jobs_write_progress_lines_to_their_log(tmp_path, capsys):
    from psymodal.cli import main

    (tmp_path / "bids").mkdir()
    args = ["speech", "--subjects", "sub-01", "sub-02", "--bids-dir", str(tmp_path / "bids")]
    args += ["--out-dir", str(tmp_path / "out"), "--batch-dir", str(tmp_path / "b"), "--batch", "0"]
    assert main(args) == 0  # no recordings: two excluded subjects, the batch goes on
    err = capsys.readouterr().err
    assert "psymodal speech: subject 1/2 sub-01 done in " in err
    assert "psymodal speech: subject 2/2 sub-02 done in " in err and "ETA 0.0 s" in err


def test_the_console_follows_new_progress_lines_of_the_job_logs(tmp_path):
    logs = tmp_path / "speech-abc" / "logs"
    logs.mkdir(parents=True)
    old = logs / "speech_batch-0.log"
    old.write_text("psymodal speech: subject 1/1 sub-09 done in 1 s, elapsed 1 s, ETA 0 s\n")
    out = io.StringIO()
    follower = LogFollower([(tmp_path, "*-*/logs/*_batch-*.log")], file=out, interval=60)
    follower.start()
    new = logs / "speech_batch-1.log"
    new.write_text("loading\npsymodal speech: subject 1/2 sub-03 done in 1.0 s, elapsed")
    follower.poll()
    assert out.getvalue() == ""  # the earlier run's line, and half a line, are not echoed
    with new.open("a") as stream:
        stream.write(" 1.0 s, ETA 1.0 s\nWarning: something\n")
    old.write_text("psymodal speech: subject 1/4 sub-01 done in 2.0 s, elapsed\n")  # rerun
    follower.stop()
    assert out.getvalue().splitlines() == [
        "[speech_batch-0] psymodal speech: subject 1/4 sub-01 done in 2.0 s, elapsed",
        "[speech_batch-1] psymodal speech: subject 1/2 sub-03 done in 1.0 s, elapsed 1.0 s, "
        "ETA 1.0 s",
    ]


def test_time_per_step_from_snakemakes_log(tmp_path):
    log = tmp_path / "run.snakemake.log"
    log.write_text(SNAKEMAKE_LOG)
    steps = {s["rule"]: s for s in step_times(log)}
    assert list(steps) == ["speech_batch", "learn"]  # in the order they started; not "all"
    assert steps["speech_batch"] == {
        "rule": "speech_batch",
        "jobs": 2,
        "wall": 9.0,
        "job_time": 16.0,
        "failed": 1,
    }
    assert steps["learn"]["wall"] == 95.0

    class Plan:  # no stage table yet: the summary is the times alone
        modalities, config = [], {"strict": False}

        def batches(self):
            return []

    out = io.StringIO()
    print_run_summary(Plan(), [str(log)], file=out)
    lines = [" ".join(line.split()) for line in out.getvalue().splitlines()]
    assert "time per step" in lines[0]
    assert lines[1:] == [
        "speech_batch 2 jobs 9 s (16 s of job time) 1 failed",
        "learn 1 job 1 min 35 s",
    ]
