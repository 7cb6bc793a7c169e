"""Connectome figures for the workflow report (``psymodal connectome-figures``).

From ``learn/importance.tsv`` (fold-averaged linear coefficients of the connectome edges,
named ``<modality>__<regionA>__<regionB>``) and the run's atlas table (``index``, ``name``,
``network``, ``x``, ``y``, ``z`` in MNI mm) this writes:

``connectome_top_edges.png``
    Glass-brain connectome of the ``top_k`` edges with the largest ``|coef_mean|``, coloured by
    the signed coefficient (red: higher connectivity pushes towards the patient class).
``region_importance.png``
    One marker per atlas region, size and colour the summed ``|coef_mean|`` of its edges.

Both files are always written (a placeholder says why when the table has no connectome
edges with coefficients), so that a workflow rule can name them as outputs. The PNGs are
byte-identical across reruns (see :mod:`psymodal.report.figures`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.tables import read_tsv
from psymodal.report.paths import CONNECTOME_FIGURES, connectome_figure
from psymodal.report.plotting import empty_panel, new_figure, save_figure

#: The files :func:`write_connectome_figures` writes, in order
#: (:data:`~psymodal.report.paths.CONNECTOME_FIGURES`).
FIGURE_NAMES = tuple(CONNECTOME_FIGURES.values())
SEP = "__"
#: Model whose coefficients are drawn when several linear models were fitted.
PREFERRED_MODEL = "logistic"
_WIDTH, _HEIGHT = 9.0, 3.4


def _split_edge(rest: str, regions: set[str]) -> tuple[str, str] | None:
    """``regionA__regionB`` -> (regionA, regionB), trying every ``__`` as the separator."""
    parts = rest.split(SEP)
    for i in range(1, len(parts)):
        a, b = SEP.join(parts[:i]), SEP.join(parts[i:])
        if a in regions and b in regions:
            return a, b
    return None


def connectome_edges(
    importance: pd.DataFrame, atlas: pd.DataFrame, model: str | None = None
) -> pd.DataFrame:
    """Feature rows of ``importance`` that are edges between atlas regions, with coefficients.

    Parameters
    ----------
    importance : DataFrame
        The importance table (``model``, ``modality``, ``level``, ``feature``, ``coef_mean``).
    atlas : DataFrame
        Atlas labels (``name`` at least).
    model : str, optional
        Model whose coefficients to use; default :data:`PREFERRED_MODEL` when it has edges,
        else the first model (alphabetically) that has.

    Returns
    -------
    DataFrame
        Columns ``model``, ``modality``, ``region_a``, ``region_b``, ``coef_mean`` for one
        (model, modality): the modality with the most edges. Empty when there are none.
    """
    columns = ["model", "modality", "region_a", "region_b", "coef_mean"]
    if importance is None or atlas is None or len(importance) == 0 or len(atlas) == 0:
        return pd.DataFrame(columns=columns)
    regions = set(atlas["name"].astype(str))
    rows = importance[(importance["level"] == "feature") & np.isfinite(importance["coef_mean"])]
    records = []
    for model_, modality, feature, coef in zip(
        rows["model"], rows["modality"], rows["feature"], rows["coef_mean"], strict=True
    ):
        prefix, _, rest = str(feature).partition(SEP)
        pair = _split_edge(rest, regions) if rest else None
        if pair is not None:
            records.append((model_, modality, *pair, float(coef)))
    edges = pd.DataFrame(records, columns=columns)
    if edges.empty:
        return edges
    models = sorted(edges["model"].unique())
    if model is None:
        model = PREFERRED_MODEL if PREFERRED_MODEL in models else models[0]
    edges = edges[edges["model"] == model]
    if edges.empty:
        return edges.reset_index(drop=True)
    counts = edges.groupby("modality").size()
    modality = sorted(counts.index, key=lambda m: (-counts[m], m))[0]
    return edges[edges["modality"] == modality].reset_index(drop=True)


def region_importance(edges: pd.DataFrame, atlas: pd.DataFrame) -> pd.Series:
    """Summed ``|coef_mean|`` of each atlas region's edges (0 for regions without any)."""
    values = pd.Series(0.0, index=pd.Index(atlas["name"].astype(str), name="name"))
    for column in ("region_a", "region_b"):
        sums = edges.groupby(column)["coef_mean"].apply(lambda c: c.abs().sum())
        values = values.add(sums, fill_value=0.0).reindex(values.index)
    return values


def _placeholder(path: Path, message: str) -> Path:
    fig = new_figure(_WIDTH, _HEIGHT)
    empty_panel(fig.add_subplot(), message)
    return save_figure(fig, path)


def _coords(atlas: pd.DataFrame, names) -> np.ndarray:
    table = atlas.assign(name=atlas["name"].astype(str)).set_index("name")
    return table.loc[list(names), ["x", "y", "z"]].to_numpy(dtype=float)


def top_edges_figure(
    edges: pd.DataFrame, atlas: pd.DataFrame, path: str | os.PathLike, top_k: int = 20
) -> Path:
    """Connectome plot of the ``top_k`` edges by ``|coef_mean|`` (placeholder without edges)."""
    path = Path(path)
    if edges.empty:
        return _placeholder(path, "No connectome edges with coefficients in this run")
    from nilearn import plotting

    top = edges.assign(weight=edges["coef_mean"].abs())
    top = top.sort_values(["weight", "region_a", "region_b"], ascending=[False, True, True])
    top = top.head(int(top_k))
    names = sorted(set(top["region_a"]) | set(top["region_b"]))
    where = {name: i for i, name in enumerate(names)}
    adjacency = np.zeros((len(names), len(names)))
    for a, b, c in zip(top["region_a"], top["region_b"], top["coef_mean"], strict=True):
        adjacency[where[a], where[b]] = adjacency[where[b], where[a]] = c
    vmax = float(np.abs(adjacency).max()) or 1.0
    model, modality = edges["model"].iloc[0], edges["modality"].iloc[0]
    fig = new_figure(_WIDTH, _HEIGHT)
    fig.set_layout_engine(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        display = plotting.plot_connectome(
            adjacency,
            _coords(atlas, names),
            node_color="#4d4d4d",
            node_size=20,
            edge_cmap="RdBu_r",
            edge_vmin=-vmax,
            edge_vmax=vmax,
            edge_kwargs={"linewidth": 2},
            colorbar=True,
            figure=fig,
            title=f"Top {len(top)} edges by |coefficient| ({model}, {modality})",
        )
    _label_colorbar(display, "edge coefficient (model weight)")
    return save_figure(fig, path)


def _label_colorbar(display, label: str) -> None:
    """Name what the colour bar of a nilearn display measures (nilearn draws it unlabelled)."""
    colorbar = getattr(display, "_cbar", None)
    if colorbar is not None:
        colorbar.set_label(label, fontsize=8)


def region_figure(edges: pd.DataFrame, atlas: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Markers at the atlas regions, size and colour the summed ``|coef|`` of their edges."""
    path = Path(path)
    if edges.empty:
        return _placeholder(path, "No connectome edges with coefficients in this run")
    from nilearn import plotting

    values = region_importance(edges, atlas)
    vmax = float(values.max()) or 1.0
    sizes = 5.0 + 95.0 * values.to_numpy() / vmax
    model, modality = edges["model"].iloc[0], edges["modality"].iloc[0]
    fig = new_figure(_WIDTH, _HEIGHT)
    fig.set_layout_engine(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        display = plotting.plot_markers(
            values.to_numpy(),
            _coords(atlas, values.index),
            node_size=sizes,
            node_cmap="viridis",
            node_vmin=0.0,
            node_vmax=vmax,
            colorbar=True,
            figure=fig,
            title=f"Region importance: summed |coefficient| of its edges ({model}, {modality})",
        )
    _label_colorbar(display, "summed |coefficient| of the region's edges")
    return save_figure(fig, path)


def write_connectome_figures(
    importance_tsv: str | os.PathLike,
    atlas_tsv: str | os.PathLike | None,
    out_dir: str | os.PathLike,
    top_k: int = 20,
    model: str | None = None,
) -> list[Path]:
    """Write ``connectome_top_edges.png`` and ``region_importance.png`` under ``out_dir``.

    Parameters
    ----------
    importance_tsv : path
        ``<run>/learn/importance.tsv``.
    atlas_tsv : path or None
        The run's atlas table (``atlas-<name>_dseg.tsv``); missing or None gives placeholders.
    out_dir : path
    top_k : int
        Edges drawn in the connectome plot.
    model : str, optional
        See :func:`connectome_edges`.

    Returns
    -------
    list of Path
        The two figures, in :data:`FIGURE_NAMES` order.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    importance = read_tsv(importance_tsv)
    atlas = read_tsv(atlas_tsv) if atlas_tsv is not None and Path(atlas_tsv).exists() else None
    edges = connectome_edges(importance, atlas, model)
    return [
        top_edges_figure(edges, atlas, connectome_figure(out, "edges"), top_k),
        region_figure(edges, atlas, connectome_figure(out, "regions")),
    ]
