"""Per-subject quality-control galleries (MRI, speech): one self-contained HTML page each.

The page a clinician-scientist scrolls before trusting a result: every subject's QC values
and QC figures (MRI: mean EPI with atlas outlines, region carpet plot, motion trace; speech:
waveform with speech segments and syllable nuclei, level, F0 track), excluded subjects first
with the reason, then the rest from the worst to the best on the modality's key measure (head
motion; signal-to-noise ratio). The figures are embedded (base64), so the page travels inside
Snakemake's report, as reduced JPEG copies (:data:`THUMBNAIL_WIDTH` pixels wide): Snakemake
embeds the page in its single-file report as a data URL, which Chromium does not load above
2 MB, so each page stays under ``max_bytes``: the subjects whose figures do not fit the first
page go on continuation pages (``pages_dir``, one more report entry each), up to
``max_embedded`` subjects; the later subjects' figures are listed by path. Same inputs give the
same bytes (no timestamps).
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.tables import atomic_write, read_tsv
from psymodal.mri import paths as mri_paths
from psymodal.speech import paths as speech_paths

__all__ = ["GALLERIES", "GallerySpec", "continuation_page", "subject_figures", "qc_gallery"]

#: Width (pixels) of the embedded copy of a QC figure: legible, about 60 kB (JPEG quality 70)
#: for an MRI QC figure (148 kB as PNG at 990 pixels).
THUMBNAIL_WIDTH = 640
#: The page's size at most (characters): base64-encoded once more in Snakemake's report, it
#: stays under Chromium's 2 MiB limit for a data URL (1.4e6 * 4 / 3 = 1.87e6).
MAX_BYTES = 1_400_000


def _embedded(figure: Path) -> tuple[str, str]:
    """(MIME type, base64 data) of a figure's reduced copy (the file as is if PIL cannot
    read it)."""
    import io

    raw = figure.read_bytes()
    try:
        from PIL import Image

        with Image.open(io.BytesIO(raw)) as image:
            image = image.convert("RGB")
            if image.width > THUMBNAIL_WIDTH:
                height = round(image.height * THUMBNAIL_WIDTH / image.width)
                image = image.resize((THUMBNAIL_WIDTH, height), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=70)
        mime, raw = "image/jpeg", buffer.getvalue()
    except Exception:  # not an image PIL reads: embedded unchanged
        mime = "image/png"
    return mime, base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class GallerySpec:
    """What one modality's gallery shows.

    Attributes
    ----------
    title, intro : str
        Page heading and the end of the paragraph under it (plain text, escaped).
    columns : tuple
        ``(QC column, label, decimals)`` shown when the table has them, in order.
    sort_by : str
        Key QC measure; subjects are listed from its worst value to its best.
    worst_is_high : bool
        Whether a high ``sort_by`` is worse (head motion) or a low one (SNR).
    figure_pattern : str
        Glob of the subject's QC figures in ``<stage>/sub-*/figures/``.
    """

    title: str
    intro: str
    columns: tuple
    sort_by: str
    worst_is_high: bool
    figure_pattern: str


GALLERIES = {
    "mri": GallerySpec(
        title="MRI quality control, subject by subject",
        intro="the others follow from the most to the least head motion (mean framewise "
        "displacement). Each figure shows the run's mean EPI with the atlas outlines, the "
        "regional time series (carpet plot) and the motion trace with the scrubbed volumes.",
        columns=(
            ("mean_fd", "mean FD (mm)", 3),
            ("max_fd", "max FD (mm)", 2),
            ("fraction_scrubbed", "scrubbed", 2),
            ("minutes_kept", "minutes kept", 1),
            ("tsnr_median", "median tSNR", 1),
            ("n_missing_regions", "missing regions", 0),
            ("n_runs_included", "runs kept", 0),
        ),
        sort_by="mean_fd",
        worst_is_high=True,
        figure_pattern=mri_paths.QC_FIGURE_GLOB,
    ),
    "speech": GallerySpec(
        title="Speech quality control, subject by subject",
        intro="the others follow from the lowest to the highest signal-to-noise ratio. Each "
        "figure shows one recording: the waveform with the detected speech segments and "
        "syllable nuclei, the frame level with the speech threshold and noise floor, and the "
        "F0 track.",
        columns=(
            ("duration_s", "duration (s)", 1),
            ("speech_duration_s", "speech (s)", 1),
            ("voiced_duration_s", "voiced (s)", 1),
            ("snr_db", "SNR (dB)", 1),
            ("peak_dbfs", "peak (dBFS)", 1),
            ("clipping_fraction", "clipped", 4),
            ("n_recordings_used", "recordings used", 0),
            ("native_sample_rate", "sample rate (Hz)", 0),
        ),
        sort_by="snr_db",
        worst_is_high=False,
        figure_pattern=speech_paths.QC_FIGURE_GLOB,
    ),
}

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; }
td.id, td.reason { text-align: left; }
tr.excluded td { background: #fbe3e3; }
section { border-top: 1px solid #ccc; padding-top: 0.8em; margin-top: 1em; }
section.excluded h3 { color: #a00; }
img { max-width: 100%; }
"""


def subject_figures(
    stage_dir: str | os.PathLike, participant_id: str, pattern: str = mri_paths.QC_FIGURE_GLOB
) -> list[Path]:
    """The QC figures a stage wrote for one subject (sorted by name).

    Both stages put them in ``sub-XX/figures/`` (:func:`psymodal.mri.paths.figure_dir`,
    :func:`psymodal.speech.paths.figure_dir`).
    """
    return sorted(mri_paths.figure_dir(stage_dir, participant_id).glob(pattern))


def _order(qc: pd.DataFrame, spec: GallerySpec) -> pd.DataFrame:
    """Excluded subjects first, then from the worst to the best key measure (missing last)."""
    included = qc["included"].astype(str).str.lower().isin(["true", "1"])
    value = pd.to_numeric(qc.get(spec.sort_by, pd.Series(np.nan, index=qc.index)), errors="coerce")
    worst_first = -value if spec.worst_is_high else value
    key = pd.DataFrame(
        {"included": included, "key": worst_first.fillna(np.inf), "id": qc["participant_id"]}
    )
    order = key.sort_values(["included", "key", "id"], kind="stable").index
    return qc.loc[order].assign(_included=included.loc[order])


def _cell(value, decimals: int) -> str:
    number = pd.to_numeric(value, errors="coerce")
    if pd.isna(number):
        return "" if pd.isna(value) else html.escape(str(value))
    return f"{number:.{decimals}f}"


def qc_gallery(
    qc_table: str | os.PathLike,
    stage_dir: str | os.PathLike,
    path: str | os.PathLike,
    modality: str = "mri",
    max_embedded: int = 60,
    max_bytes: int = MAX_BYTES,
    pages_dir: str | os.PathLike | None = None,
) -> Path:
    """Write the QC gallery of one modality: its first page, and continuation pages in
    ``pages_dir`` when the embedded figures do not fit one page.

    Parameters
    ----------
    qc_table : path
        The stage's group QC table (``participant_id``, ``included``, ``reason`` and the QC
        values, e.g. of :func:`psymodal.mri.subject_runs.summarize_qc`).
    stage_dir : path
        The stage folder holding ``sub-*/figures/``.
    path : path
        Output HTML file.
    modality : str
        A key of :data:`GALLERIES` (``mri`` or ``speech``).
    max_embedded : int
        Subjects whose figures are embedded, in the page's order; the others are listed
        with their figures' paths (relative to ``stage_dir``).
    max_bytes : int
        Each page's size at most (characters). Without ``pages_dir`` the figures that would
        exceed it are listed by path; with it, the next subjects go on a new page.
    pages_dir : path, optional
        Folder of the continuation pages ``page-02.html``, ``page-03.html``... (made, and
        emptied of earlier pages, even when every figure fits the first page).

    Returns
    -------
    Path
        The first page.
    """
    if modality not in GALLERIES:
        raise ValueError(f"no QC gallery for {modality!r}; choose from {sorted(GALLERIES)}")
    spec = GALLERIES[modality]
    qc = read_tsv(qc_table)
    missing = {"participant_id", "included"} - set(qc.columns)
    if missing:
        raise ValueError(
            f"{qc_table} lacks the columns {sorted(missing)}: pass the stage's group QC "
            f"table (group/{modality}_qc.tsv)"
        )
    qc = _order(qc, spec)
    stage = Path(stage_dir)
    columns = [c for c in spec.columns if c[0] in qc.columns]
    n_excluded = int((~qc["_included"]).sum())
    parts = [
        "<!DOCTYPE html>",
        f'<html><head><meta charset="utf-8"><title>{html.escape(spec.title)}</title>',
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(spec.title)}</h1>",
        f"<p>{len(qc)} subjects; {n_excluded} excluded from the analysis (listed first, "
        f"with the reason); {html.escape(spec.intro)}</p>",
        "<table><tr><th>subject</th><th>included</th>"
        + "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in columns)
        + "<th>reason</th></tr>",
    ]
    for _, row in qc.iterrows():
        pid = html.escape(str(row["participant_id"]))
        css = "" if row["_included"] else ' class="excluded"'
        cells = "".join(f"<td>{_cell(row[c], d)}</td>" for c, _, d in columns)
        reason = "" if pd.isna(row.get("reason")) else html.escape(str(row.get("reason")))
        parts.append(
            f'<tr{css}><td class="id"><a href="#{pid}">{pid}</a></td>'
            f"<td>{'yes' if row['_included'] else 'no'}</td>{cells}"
            f'<td class="reason">{reason}</td></tr>'
        )
    parts.append("</table>")
    # what a page holds besides figures: the table so far (first page), then about 300
    # characters of heading and listed paths per subject
    reserve = 300 * len(qc) + 2_000
    budget = max_bytes - sum(len(p) for p in parts) - reserve
    pages, pages_of = [parts], {}
    for k, (_, row) in enumerate(qc.iterrows()):
        pid = str(row["participant_id"])
        figures = subject_figures(stage, pid, spec.figure_pattern)
        shown = k < max_embedded and (pages_dir is not None or budget > 0)
        embedded = [_embedded(f) if shown else None for f in figures]
        size = sum(len(item[1]) for item in embedded if item)
        if pages_dir is not None and size > budget and pages[-1]:
            pages.append([])  # the next page: this subject's figures would not fit here
            budget = max_bytes - reserve
        pages_of[pid] = len(pages)
        section = pages[-1]
        state = "included" if row["_included"] else "excluded"
        section.append(f'<section id="{html.escape(pid)}" class="{state}">')
        heading = f"{html.escape(pid)} ({state}"
        if not row["_included"] and not pd.isna(row.get("reason")):
            heading += f": {html.escape(str(row['reason']))}"
        section.append(f"<h3>{heading})</h3>")
        if not figures:
            section.append("<p>No QC figure (no usable data, or figures switched off).</p>")
        for figure, item in zip(figures, embedded, strict=True):
            name = html.escape(figure.relative_to(stage).as_posix())
            if item and len(item[1]) <= budget:
                budget -= len(item[1])
                section.append(f'<img alt="{name}" src="data:{item[0]};base64,{item[1]}">')
            else:
                budget = 0  # the page keeps its order: no later, smaller figure jumps in
                section.append(f"<p>Figure not embedded (page size limit): {name}</p>")
        section.append("</section>")
    if pages_dir is not None:
        _write_continuation_pages(pages[1:], pages_of, spec, Path(pages_dir), parts)
    parts.append("</body></html>")
    text = "\n".join(parts) + "\n"
    return atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def continuation_page(pages_dir: str | os.PathLike, number: int) -> Path:
    """``page-NN.html`` in ``pages_dir`` (the first page is the gallery file itself)."""
    return Path(pages_dir) / f"page-{number:02d}.html"


def _write_continuation_pages(
    pages: list[list[str]], pages_of: dict, spec: GallerySpec, pages_dir: Path, first: list
) -> None:
    """Write pages 2... and name them on the first page, under its table."""
    pages_dir.mkdir(parents=True, exist_ok=True)
    for old in pages_dir.glob("page-*.html"):
        old.unlink()
    total = len(pages) + 1
    if total > 1:
        listed = ", ".join(
            f"page {n}: {html.escape(_span([p for p, k in pages_of.items() if k == n]))}"
            for n in range(2, total + 1)
        )
        # under the table, before the first subject's section
        where = next((i for i, part in enumerate(first) if part.startswith("<section")), len(first))
        first.insert(
            where,
            f"<p>{total} pages: the figures of the subjects past the first page are on the "
            f"next pages of this gallery, in the table's order ({listed}).</p>",
        )
    for number, sections in enumerate(pages, start=2):
        title = f"{spec.title}, page {number} of {total}"
        names = [p for p, k in pages_of.items() if k == number]
        text = "\n".join(
            [
                "<!DOCTYPE html>",
                f'<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>',
                f"<style>{_STYLE}</style></head><body>",
                f"<h1>{html.escape(title)}</h1>",
                f"<p>Subjects {html.escape(_span(names))}, in the order of the first page's "
                "table (excluded subjects first, then from the worst to the best).</p>",
                *sections,
                "</body></html>",
            ]
        )
        path = continuation_page(pages_dir, number)
        atomic_write(path, lambda tmp, text=text: tmp.write_text(text + "\n", encoding="utf-8"))


def _span(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} to {names[-1]} ({len(names)})"
