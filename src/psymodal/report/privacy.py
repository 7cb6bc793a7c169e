"""The report's Privacy section: membership-attack AUCs per model and the DP guarantees.

From ``learn/membership_inference.tsv`` (:mod:`psymodal.learn.privacy`) and the
``differential_privacy`` entry of ``learn/run_info.json`` this writes

``privacy_attacks.png``
    The loss-threshold attack AUC (mean over outer folds, +- SD) and, when it was computed
    (``learn.membership.reference_models`` above 0), the LiRA attack AUC, per model and
    analysis, against the 0.5 line (no leak).
``privacy_table.html``
    The same numbers with the model's train and test AUC, its (epsilon, delta) when it is
    differentially private, and a one-line plain reading; then what shared data still reveal
    (re-identification from shared features, speaker linkage through the voice anonymiser):
    figures that a run cannot measure on its own data, each labelled as a published benchmark
    figure with its ``benchmarks/RESULTS.md`` section and command
    (:mod:`psymodal.privacy.published`). A study's own linkage risk is measured by
    ``snakemake share`` (``shareable_features/linkage_risk.json``).
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.tables import atomic_write
from psymodal.privacy.published import PUBLISHED, published_entry
from psymodal.report.plotting import empty_panel, new_figure, save_figure

# The plain reading's bands of the stronger attack's AUC. 0.55: the fold-to-fold spread of
# the attack AUC on models that cannot memorise (dp_logistic on ABIDE 100: 0.49-0.50, SD over
# folds up to 0.06; benchmarks/RESULTS.md); 0.65: the DP fusion network at epsilon 8 (0.62-0.64),
# a leak an attacker can use on some subjects but not a memorised training set.
_NO_LEAK = 0.55
_SOME_LEAK = 0.65


def _value(row: Mapping, column: str) -> float:
    """``row[column]`` as a float; NaN when the column is missing (older tables have no LiRA)."""
    if column not in row:
        return np.nan
    value = pd.to_numeric(row[column], errors="coerce")
    return float(value) if pd.notna(value) else np.nan


def _fmt(value: float, digits: int = 2) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.{digits}f}"


def _with_sd(row: Mapping, prefix: str) -> str:
    mean, sd = _value(row, f"{prefix}_mean"), _value(row, f"{prefix}_sd")
    if not np.isfinite(mean):
        return "not computed"
    return f"{_fmt(mean)} ± {_fmt(sd)}" if np.isfinite(sd) else _fmt(mean)


def reading(row: Mapping) -> str:
    """A one-line plain reading of a model's membership attacks (0.5 = no leak).

    Parameters
    ----------
    row : mapping
        A row of ``membership_inference.tsv``.

    Returns
    -------
    str
    """
    aucs = [_value(row, c) for c in ("attack_auc_mean", "lira_auc_mean")]
    aucs = [a for a in aucs if np.isfinite(a)]
    if not aucs:
        return "not measured (too few subjects per fold)"
    auc = max(aucs)
    if auc < _NO_LEAK:
        return (
            f"no leak measured: the attacks are at chance (AUC {auc:.2f}; 0.5 = no leak), "
            "the model does not reveal who it was trained on"
        )
    if auc < _SOME_LEAK:
        return (
            f"some leak (AUC {auc:.2f}; 0.5 = no leak): an attacker can tell some training "
            "participants from others better than chance"
        )
    return (
        f"leaks (AUC {auc:.2f}; 0.5 = no leak): the model memorises its training "
        "participants; do not share it as it is"
    )


def _guarantee(model: str, privacy: Mapping[str, Mapping[str, float]]) -> str:
    if model not in privacy:
        return "not private"
    g = privacy[model]
    return f"epsilon {g['epsilon']:g}, delta {g['delta']:g}"


def _rows(attacks: pd.DataFrame | None) -> list[dict]:
    """The table's rows in a stable order (model, then analysis)."""
    if attacks is None or not len(attacks):
        return []
    ordered = attacks.sort_values(["model", "modality"], kind="stable")
    return [dict(r) for _, r in ordered.iterrows()]


def _label(row: Mapping, privacy: Mapping[str, Mapping[str, float]]) -> str:
    label = f"{row['model']} · {row['modality']}"
    if row["model"] in privacy:
        label += f"\n(DP, epsilon {privacy[row['model']]['epsilon']:g})"
    return label


def privacy_figure(
    attacks: pd.DataFrame | None,
    privacy: Mapping[str, Mapping[str, float]],
    path: str | os.PathLike,
) -> Path:
    """Membership-attack AUC per model and analysis: loss threshold (+- SD) and LiRA.

    Parameters
    ----------
    attacks : DataFrame or None
        ``learn/membership_inference.tsv``.
    privacy : mapping
        Model -> ``{"epsilon", "delta"}`` of the differentially private models.
    path : path-like

    Returns
    -------
    Path
    """
    rows = _rows(attacks)
    fig = new_figure(8.0, 1.8 + 0.5 * max(len(rows), 1))
    ax = fig.add_subplot()
    if not rows:
        empty_panel(ax, "no membership-inference audit (learn/membership_inference.tsv)")
        return save_figure(fig, Path(path))
    y = np.arange(len(rows))[::-1].astype(float)
    loss = np.array([_value(r, "attack_auc_mean") for r in rows])
    sd = np.nan_to_num(np.array([_value(r, "attack_auc_sd") for r in rows]))
    lira = np.array([_value(r, "lira_auc_mean") for r in rows])
    ax.axvline(0.5, color="#bbbbbb", lw=1.0, ls=":", label="0.5: no leak")
    have = np.isfinite(loss)
    ax.errorbar(
        loss[have], y[have], xerr=sd[have], fmt="o", color="#1f77b4", capsize=3,
        label="loss-threshold attack (mean ± SD over folds)",
    )  # fmt: skip
    if np.isfinite(lira).any():
        keep = np.isfinite(lira)
        ax.plot(lira[keep], y[keep] - 0.15, "s", color="#d62728", label="LiRA attack (mean)")
    ax.set_yticks(y, [_label(r, privacy) for r in rows], fontsize=8)
    ax.set_xlim(min(0.3, np.nanmin(np.r_[loss - sd, lira, 1.0]) - 0.02), 1.02)
    ax.set_ylim(y.min() - 0.6, y.max() + 0.6)
    ax.set_xlabel("membership attack AUC (0.5 = no leak, 1 = members recognised)")
    ax.set_ylabel("model · analysis")
    ax.set_title("Can the fitted model tell who it was trained on?", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8, frameon=False, ncol=2)
    return save_figure(fig, Path(path))


#: The table's column headers.
TABLE_HEADERS = (
    "model",
    "analysis",
    "differential privacy",
    "loss attack AUC (± SD)",
    "LiRA attack AUC (± SD)",
    "train AUC",
    "test AUC",
    "reading (0.5 = no leak)",
)


def privacy_html(
    attacks: pd.DataFrame | None,
    privacy: Mapping[str, Mapping[str, float]],
    path: str | os.PathLike,
) -> Path:
    """An HTML table of the membership attacks and DP guarantees (a snippet, no page markup).

    Parameters
    ----------
    attacks : DataFrame or None
        ``learn/membership_inference.tsv``.
    privacy : mapping
        Model -> ``{"epsilon", "delta"}`` of the differentially private models.
    path : path-like

    Returns
    -------
    Path
    """
    rows = _rows(attacks)
    lines = ['<table class="psymodal-privacy">', "  <thead><tr>"]
    lines += [f"    <th>{html.escape(h)}</th>" for h in TABLE_HEADERS]
    lines += ["  </tr></thead>", "  <tbody>"]
    for row in rows:
        cells = [
            str(row["model"]),
            str(row["modality"]),
            _guarantee(str(row["model"]), privacy),
            _with_sd(row, "attack_auc"),
            _with_sd(row, "lira_auc"),
            _fmt(_value(row, "train_auc_mean")),
            _fmt(_value(row, "test_auc_mean")),
            reading(row),
        ]
        lines.append("  <tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    if not rows:
        lines.append(
            f'  <tr><td colspan="{len(TABLE_HEADERS)}">no membership-inference audit</td></tr>'
        )
    lines += ["  </tbody>", "</table>", *_published_lines()]
    text = "\n".join(lines) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text))


#: Column headers of the published-figures table.
PUBLISHED_HEADERS = ("published figure", "data", "figures", "source", "command")

#: Where a run's own linkage risk is measured (said above the published figures).
_OWN_RISK = (
    "What shared data still reveal. Published benchmark figures, not measured on this run's "
    "data: measure this study's own re-identification risk with <code>snakemake share</code> "
    "(results/shareable_features/linkage_risk.json)."
)


def _figures_text(figures: Mapping) -> str:
    """``{"top1": 0.94, "chance": 0.01}`` -> ``top1 0.940; chance 0.010`` (lists as a / b)."""
    parts = []
    for name, value in figures.items():
        values = value if isinstance(value, list) else [value]
        parts.append(f"{name.replace('_', ' ')} " + " / ".join(f"{v:.3f}" for v in values))
    return "; ".join(parts)


def _published_lines() -> list[str]:
    """The published privacy figures as a table whose every row names its source and command."""
    lines = [f'<p class="psymodal-privacy-published">{_OWN_RISK}</p>']
    lines += ['<table class="psymodal-privacy-published">', "  <thead><tr>"]
    lines += [f"    <th>{html.escape(h)}</th>" for h in PUBLISHED_HEADERS]
    lines += ["  </tr></thead>", "  <tbody>"]
    for name in PUBLISHED:
        entry = published_entry(name)
        cells = [entry["data"], _figures_text(entry["figures"]), entry["source"]]
        row = f'  <tr><th scope="row">{html.escape(entry["what"])}</th>'
        row += "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        row += f"<td><code>{html.escape(entry['command'])}</code></td></tr>"
        lines.append(row)
    return [*lines, "  </tbody>", "</table>"]
