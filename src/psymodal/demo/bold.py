"""Resting-state BOLD of the demo study: network model, motion, artefacts and confounds.

Generative model (per subject, all volumes ``t`` of one run)
-----------------------------------------------------------
Region level (one time series per atlas region, unit variance, AR(1) with ``phi`` =
:data:`AR_PHI`)::

    x_r = sqrt(a_g) g + sqrt(a_n * gain) n_net(r) + sqrt(1 - a_g - a_n * gain) u_r

with a global component ``g``, one component per atlas network ``n_k`` and a region-specific
part ``u_r`` (all independent AR(1) processes). In patients each planted edge (i, j) also shares
an extra component ``s``: ``x_i <- sqrt(1 - w) x_i + sqrt(w) s`` (same for ``j``) with
``w = delta * edge_gain / (1 - c0)``, which raises their correlation from the control value
``c0`` to ``c0 + delta * edge_gain`` (:data:`EDGE_DELTA` on average).

Voxel level, inside the brain mask (percent units, ``base`` = tissue- and site-dependent mean)::

    y = base * (1 + 0.01 * (A * neural + P * phys + drift) + motion_artefact) + noise

* neural: the voxel's region signal (atlas voxels) or a mix of the global component and
  voxel-specific noise (other grey matter), scaled by grey-matter probability;
* phys: a physiological (cardiac/respiratory-like) series, strongest in CSF, also in WM and GM,
  which the ``csf``/``white_matter`` confounds capture;
* drift: slow scanner drift (removed by the ``cosine`` regressors);
* motion_artefact: position-dependent terms linear in the six motion parameters, plus a global
  intensity drop proportional to framewise displacement (spikes);
* noise: white thermal noise with a site-specific level;
* the first :data:`~psymodal.demo.spec.N_DUMMY` volumes are brighter (non-steady state).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from psymodal.demo.anat import Templates, smooth_field
from psymodal.demo.spec import (
    N_DUMMY,
    STUDY,
    STUDY_EDGES,
    DemoSpec,
    SubjectParams,
    rng_for,
)

#: Temporal autocorrelation of the latent processes at TR = 2 s.
AR_PHI = 0.5
#: Variance share of the global component in every region.
A_GLOBAL = 0.08
#: Variance share of the network component (times the subject's network gain).
A_NETWORK = 0.30
#: Mean increase of the correlation of each planted edge in patients.
EDGE_DELTA = 0.40
#: Number of planted edges, by (network A, network B) pool.
EDGE_POOLS = (
    ("default", "fronto-parietal", 4),
    ("default", "cingulo-opercular", 3),
    ("default", "default", 2),
    ("fronto-parietal", "cingulo-opercular", 1),
)
#: Neural signal amplitude (percent signal change, standard deviation) in grey matter.
NEURAL_PCT = 1.2
#: Physiological noise amplitude (percent) in CSF, white matter and grey matter.
PHYS_PCT = {"csf": 1.6, "wm": 0.6, "gm": 0.6}
#: Thermal noise standard deviation as a fraction of the mean intensity, per site.
SITE_NOISE = (0.012, 0.016, 0.010, 0.014)
#: Global intensity scaling per site (scanner gain).
SITE_SCALE = (1.0, 0.82, 1.15, 0.9)
#: Additive intensity offset per site.
SITE_OFFSET = (0.0, 40.0, -30.0, 20.0)
#: Global intensity drop per mm of framewise displacement (fraction of the mean).
FD_DROP = 0.02
#: Signal change per mm of displacement at the edge of the field of view (fraction).
MOTION_GRADIENT = 0.003
#: Intensity multipliers of the non-steady-state volumes.
DUMMY_GAIN = (1.6, 1.2)
#: Radius (mm) of the sphere used to turn rotations into displacements (Power et al. 2012).
FD_RADIUS_MM = 50.0
#: Cut-off period (s) of fMRIPrep's discrete cosine high-pass basis.
COSINE_PERIOD_S = 128.0
#: fMRIPrep's default thresholds for the ``motion_outlierXX`` indicator columns.
OUTLIER_FD_MM = 0.5
OUTLIER_STD_DVARS = 1.5
#: Number of anatomical CompCor components written.
N_COMPCOR = 6

MOTION_COLUMNS = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")


def _site(values: tuple, site_index: int):
    return values[site_index % len(values)]


def ar1(rng: np.random.Generator, shape: tuple[int, ...], phi: float = AR_PHI) -> np.ndarray:
    """Stationary unit-variance AR(1) series along the last axis.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    shape : tuple of int
        Output shape; time is the last axis.
    phi : float
        Lag-one autocorrelation.

    Returns
    -------
    numpy.ndarray
    """
    white = rng.standard_normal(shape)
    zi_shape = shape[:-1] + (1,)
    zi = phi * rng.standard_normal(zi_shape)  # stationary start
    out, _ = lfilter([np.sqrt(1 - phi**2)], [1.0, -phi], white, axis=-1, zi=zi)
    return out


def region_voxel_counts(templates: Templates) -> np.ndarray:
    """Number of BOLD-grid voxels of every atlas region (atlas order)."""
    counts = np.bincount(templates.bold_labels.ravel(), minlength=templates.region_index.max() + 1)
    return counts[templates.region_index]


def control_correlation(networks: list[str], i: int, j: int, gain: float = 1.0) -> float:
    """Model correlation of regions ``i`` and ``j`` in a control (before noise)."""
    return A_GLOBAL + (A_NETWORK * gain if networks[i] == networks[j] else 0.0)


def planted_edges(spec: DemoSpec, templates: Templates) -> pd.DataFrame:
    """Choose the planted edges: disjoint region pairs from :data:`EDGE_POOLS` (seeded).

    Only regions with at least 6 voxels on the BOLD grid are eligible.

    Parameters
    ----------
    spec : DemoSpec
        Gives the seed.
    templates : Templates
        Atlas regions and networks.

    Returns
    -------
    pandas.DataFrame
        Columns ``edge`` (``regionA__regionB``, A before B in atlas order), ``region_a``,
        ``region_b``, ``index_a``, ``index_b`` (0-based atlas positions), ``network_a``,
        ``network_b``, ``control_r`` (model correlation in controls), ``delta_r`` (mean
        increase in patients) and ``patient_r``.
    """
    rng = rng_for(spec, STUDY, STUDY_EDGES)
    counts = region_voxel_counts(templates)
    networks = np.array(templates.networks)
    used: set[int] = set()
    rows = []
    for net_a, net_b, n_edges in EDGE_POOLS:
        for _ in range(n_edges):
            pool_a = [k for k in np.flatnonzero(networks == net_a) if counts[k] >= 6]
            pool_b = [k for k in np.flatnonzero(networks == net_b) if counts[k] >= 6]
            pool_a = [k for k in pool_a if k not in used]
            pool_b = [k for k in pool_b if k not in used]
            if not pool_a or not pool_b:
                continue
            a = int(rng.choice(pool_a))
            pool_b = [k for k in pool_b if k != a]
            if not pool_b:
                continue
            b = int(rng.choice(pool_b))
            used.update((a, b))
            i, j = min(a, b), max(a, b)
            c0 = control_correlation(templates.networks, i, j)
            rows.append(
                {
                    "edge": f"{templates.region_names[i]}__{templates.region_names[j]}",
                    "region_a": templates.region_names[i],
                    "region_b": templates.region_names[j],
                    "index_a": i,
                    "index_b": j,
                    "network_a": templates.networks[i],
                    "network_b": templates.networks[j],
                    "control_r": c0,
                    "delta_r": EDGE_DELTA,
                    "patient_r": c0 + EDGE_DELTA,
                }
            )
    table = pd.DataFrame(rows)
    return table.sort_values(["index_a", "index_b"], kind="stable").reset_index(drop=True)


def region_signals(
    templates: Templates,
    params: SubjectParams,
    edges: pd.DataFrame,
    rng: np.random.Generator,
    n_volumes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the region-level time series of one subject (network model, see module doc).

    Returns
    -------
    signals : numpy.ndarray
        (n_regions, n_volumes), unit variance per region.
    global_component : numpy.ndarray
        (n_volumes,) the global component ``g`` (reused for non-atlas grey matter).
    """
    networks = templates.networks
    names = sorted(set(networks))
    net_of = np.array([names.index(n) for n in networks])
    n_regions = len(networks)
    gain = params.network_gain
    g = ar1(rng, (n_volumes,))
    nets = ar1(rng, (len(names), n_volumes))
    unique = ar1(rng, (n_regions, n_volumes))
    shared = ar1(rng, (max(len(edges), 1), n_volumes))
    a_net = A_NETWORK * gain
    x = (
        np.sqrt(A_GLOBAL) * g
        + np.sqrt(a_net) * nets[net_of]
        + np.sqrt(1 - A_GLOBAL - a_net) * unique
    )
    if params.patient and params.edge_gain > 0:
        for k, edge in enumerate(edges.itertuples(index=False)):
            c0 = control_correlation(networks, edge.index_a, edge.index_b, gain)
            w = min(0.95, edge.delta_r * params.edge_gain / (1.0 - c0))
            for r in (edge.index_a, edge.index_b):
                x[r] = np.sqrt(1 - w) * x[r] + np.sqrt(w) * shared[k]
    return x, g


def motion_trace(params: SubjectParams, rng: np.random.Generator, n_volumes: int) -> np.ndarray:
    """Six realignment parameters (mm, radians) with drift and spikes.

    A mean-reverting random walk plus slow drift and a few sudden jerks (more for subjects
    that move more), scaled so that the mean framewise displacement equals
    ``params.motion_level``.

    Returns
    -------
    numpy.ndarray
        (n_volumes, 6): trans_x, trans_y, trans_z (mm), rot_x, rot_y, rot_z (rad).
    """
    unit = np.array([1.0, 1.0, 1.0, 1 / FD_RADIUS_MM, 1 / FD_RADIUS_MM, 1 / FD_RADIUS_MM])
    steps = rng.standard_normal((n_volumes, 6)) * unit * rng.uniform(0.5, 1.5, 6)
    pos = lfilter([1.0], [1.0, -0.9], steps, axis=0)
    ramp = np.linspace(0.0, 1.0, n_volumes)[:, None]
    pos += ramp * rng.normal(0.0, 3.0, 6) * unit
    n_spikes = int(rng.poisson(1.0 + 8.0 * params.motion_level))
    for _ in range(n_spikes):
        t0 = int(rng.integers(N_DUMMY + 1, n_volumes - 1))
        direction = rng.standard_normal(6)
        direction /= np.abs(direction).sum()
        jerk = direction * rng.uniform(20.0, 50.0) * unit
        pos[t0] += jerk  # single displaced volume...
        pos[t0 + 1 :] += jerk * rng.uniform(0.0, 0.4)  # ...that does not fully come back
    fd = framewise_displacement(pos)
    pos *= params.motion_level / np.nanmean(fd)
    return pos - pos[N_DUMMY]


def framewise_displacement(motion: np.ndarray) -> np.ndarray:
    """Power et al. (2012) framewise displacement; the first value is NaN.

    Parameters
    ----------
    motion : numpy.ndarray
        (n_volumes, 6): three translations (mm) then three rotations (radians).

    Returns
    -------
    numpy.ndarray
        (n_volumes,) sum of absolute backward differences, rotations converted to arc length
        on a sphere of :data:`FD_RADIUS_MM`.
    """
    diff = np.abs(np.diff(motion, axis=0))
    fd = diff[:, :3].sum(1) + FD_RADIUS_MM * diff[:, 3:].sum(1)
    return np.concatenate([[np.nan], fd])


def cosine_basis(n_volumes: int, tr: float, skip: int = N_DUMMY) -> np.ndarray:
    """fMRIPrep/nipype discrete cosine high-pass basis (128 s), zero on skipped volumes.

    Returns
    -------
    numpy.ndarray
        (n_volumes, n_cosines); ``n_cosines = floor(2 * n * tr / 128)`` for the ``n`` kept
        volumes (at least one).
    """
    n = n_volumes - skip
    order = max(1, int(np.floor(2 * n * tr / COSINE_PERIOD_S)))
    t = np.arange(n)
    basis = np.zeros((n_volumes, order))
    for k in range(1, order + 1):
        basis[skip:, k - 1] = np.sqrt(2.0 / n) * np.cos(np.pi / n * (t + 0.5) * k)
    return basis


def simulate_bold(
    templates: Templates,
    params: SubjectParams,
    edges: pd.DataFrame,
    spec: DemoSpec,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Simulate one subject's preprocessed BOLD run in MNI space.

    Returns
    -------
    dict
        ``bold`` (x, y, z, t) float32; ``masked`` (n_brain_voxels, t) the same values inside
        the brain mask (C order); ``motion`` (t, 6); ``regions`` (n_regions, t) region signals
        before voxel mixing.
    """
    n = spec.n_volumes
    mask = templates.bold_mask
    flat = np.flatnonzero(mask.ravel())
    gm = templates.bold_gm.ravel()[flat]
    wm = templates.bold_wm.ravel()[flat]
    csf = templates.bold_csf.ravel()[flat]
    labels = templates.bold_labels.ravel()[flat]
    n_vox = flat.size
    site = params.site_index

    x, g = region_signals(templates, params, edges, rng, n)
    motion = motion_trace(params, rng, n)
    fd = np.nan_to_num(framewise_displacement(motion))

    # neural signal per voxel (percent)
    lookup = np.full(templates.region_index.max() + 1, -1)
    lookup[templates.region_index] = np.arange(len(templates.region_index))
    region_of = lookup[labels]
    in_region = labels > 0
    neural = np.empty((n_vox, n), dtype=np.float32)
    neural[in_region] = x[region_of[in_region]]
    other = ~in_region
    neural[other] = np.sqrt(0.3) * g + np.sqrt(0.7) * ar1(rng, (int(other.sum()), n))
    amplitude = NEURAL_PCT * np.where(in_region, 0.3 + 0.7 * gm, gm)
    phys = ar1(rng, (n,), phi=0.3)
    phys_w = PHYS_PCT["csf"] * csf + PHYS_PCT["wm"] * wm + PHYS_PCT["gm"] * gm
    drift_t = np.linspace(-1.0, 1.0, n)
    drift = rng.normal(0.0, 0.6) * drift_t + rng.normal(0.0, 0.3) * (drift_t**2 - 1 / 3)
    drift_w = 1.0 + 0.3 * rng.standard_normal(n_vox)

    pct = amplitude[:, None] * neural
    pct += phys_w[:, None] * phys[None, :]
    pct += drift_w[:, None] * drift[None, :]

    # motion artefacts (fraction of the mean): position-dependent linear terms + FD drop
    ijk = np.argwhere(mask)
    coords = (ijk - ijk.mean(0)) / np.maximum(np.abs(ijk - ijk.mean(0)).max(0), 1)
    radius = np.linalg.norm(coords, axis=1) / np.sqrt(3)
    # translations act along their own axis; rotations about an axis move the two others
    lever = np.stack(
        [
            coords[:, 0],
            coords[:, 1],
            coords[:, 2],
            FD_RADIUS_MM * (coords[:, 1] + coords[:, 2]) / 2,
            FD_RADIUS_MM * (coords[:, 0] + coords[:, 2]) / 2,
            FD_RADIUS_MM * (coords[:, 0] + coords[:, 1]) / 2,
        ],
        axis=1,
    )
    artefact = MOTION_GRADIENT * (lever @ motion.T)
    artefact -= FD_DROP * (1.0 + 0.5 * radius)[:, None] * fd[None, :]

    # intensities: tissue contrast, smooth coil field, site scaling and offset
    base = 520.0 + 180.0 * gm + 60.0 * wm + 450.0 * csf
    field = smooth_field(mask.shape, rng, 0.04).ravel()[flat]
    base = base * field * _site(SITE_SCALE, site) + _site(SITE_OFFSET, site)
    noise_sd = _site(SITE_NOISE, site) * base.mean() * rng.uniform(0.9, 1.1)
    y = base[:, None] * (1.0 + 0.01 * pct + artefact)
    y += noise_sd * rng.standard_normal((n_vox, n))
    for k, gain_k in enumerate(DUMMY_GAIN[:N_DUMMY]):
        y[:, k] *= gain_k
    # integer intensities, as a scanner writes them (rounding error SD 0.29 << noise SD ~8):
    # the float32 files then compress faster and to about 2/3 of the size
    y = np.round(y)

    bold = np.zeros((mask.size, n), dtype=np.float32)
    bold[flat] = y
    return {
        "bold": bold.reshape(*mask.shape, n),
        "masked": bold[flat],
        "motion": motion,
        "regions": x,
    }


def _derivatives(name: str, values: np.ndarray) -> dict[str, np.ndarray]:
    deriv = np.concatenate([[np.nan], np.diff(values)])
    return {
        name: values,
        f"{name}_derivative1": deriv,
        f"{name}_power2": values**2,
        f"{name}_derivative1_power2": deriv**2,
    }


def _dvars(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-standardised and standardised DVARS (after Nichols 2013 / nipype's ComputeDVARS).

    Intensities are scaled to a median voxel mean of 1000. The expected DVARS uses each
    voxel's standard deviation and lag-one autocorrelation over the steady-state volumes
    (nipype uses the interquartile range over all volumes).
    """
    data = data * (1000.0 / np.median(data.mean(1)))
    steady = data[:, N_DUMMY:]
    func_sd = steady.std(1)
    centred = steady - steady.mean(1, keepdims=True)
    denom = (centred**2).sum(1)
    ar1_hat = np.where(denom > 0, (centred[:, 1:] * centred[:, :-1]).sum(1) / denom, 0.0)
    diff_sd_mean = np.mean(np.sqrt(np.clip(2.0 * (1.0 - ar1_hat), 0, None)) * func_sd)
    dvars = np.sqrt(np.mean(np.diff(data, axis=1) ** 2, axis=0))
    dvars = np.concatenate([[np.nan], dvars])
    return dvars, dvars / diff_sd_mean


def confounds(
    bold: np.ndarray, motion: np.ndarray, templates: Templates, spec: DemoSpec
) -> tuple[pd.DataFrame, dict]:
    """fMRIPrep-style confounds computed from the simulated run.

    Parameters
    ----------
    bold : numpy.ndarray
        (x, y, z, t) preprocessed BOLD, or (n_brain_voxels, t) its values inside the brain
        mask in C order (faster).
    motion : numpy.ndarray
        (t, 6) realignment parameters.
    templates : Templates
        Gives the brain, WM and CSF masks.
    spec : DemoSpec
        Gives ``tr``.

    Returns
    -------
    table : pandas.DataFrame
        One row per volume; NaN where fMRIPrep writes ``n/a``.
    metadata : dict
        The confounds JSON sidecar (CompCor metadata as fMRIPrep writes it).
    """
    n = bold.shape[-1]
    brain = templates.bold_mask.ravel()
    data = bold.reshape(-1, n)[brain] if bold.ndim == 4 else bold
    wm_mask = templates.bold_wm.ravel()[brain] > 0.9
    csf_mask = templates.bold_csf.ravel()[brain] > 0.6
    columns: dict[str, np.ndarray] = {}
    columns.update(_derivatives("global_signal", data.mean(0, dtype=np.float64)))
    columns.update(_derivatives("csf", data[csf_mask].mean(0, dtype=np.float64)))
    columns.update(_derivatives("white_matter", data[wm_mask].mean(0, dtype=np.float64)))
    dvars, std_dvars = _dvars(data.astype(np.float64))
    columns["std_dvars"] = std_dvars
    columns["dvars"] = dvars
    columns["framewise_displacement"] = framewise_displacement(motion)

    # anatomical CompCor on WM + CSF (steady-state volumes, after cosine high-pass)
    cos = cosine_basis(n, spec.tr)
    keep = slice(N_DUMMY, n)
    acc = data[wm_mask | csf_mask][:, keep].astype(np.float64).T
    basis = np.column_stack([np.ones(n - N_DUMMY), cos[keep]])
    acc = acc - basis @ np.linalg.lstsq(basis, acc, rcond=None)[0]
    sd = acc.std(0)
    acc = acc[:, sd > 0] / sd[sd > 0]
    # left singular vectors via the small (time x time) Gram matrix: much faster than an SVD
    eigval, u = np.linalg.eigh(acc @ acc.T)
    order = np.argsort(eigval)[::-1]
    eigval, u = np.clip(eigval[order], 0, None), u[:, order]
    s = np.sqrt(eigval)
    u = u * np.where(u[0] < 0, -1.0, 1.0)  # deterministic sign
    variance = s**2 / np.sum(s**2)
    metadata: dict = {}
    for k in range(N_COMPCOR):
        name = f"a_comp_cor_{k:02d}"
        comp = np.zeros(n)
        comp[keep] = u[:, k]
        columns[name] = comp
        metadata[name] = {
            "CumulativeVarianceExplained": float(np.cumsum(variance)[k]),
            "Mask": "combined",
            "Method": "aCompCor",
            "Retained": True,
            "SingularValue": float(s[k]),
            "VarianceExplained": float(variance[k]),
        }
    for k in range(cos.shape[1]):
        columns[f"cosine{k:02d}"] = cos[:, k]
    for k in range(N_DUMMY):
        outlier = np.zeros(n)
        outlier[k] = 1.0
        columns[f"non_steady_state_outlier_{k:02d}"] = outlier
    # fMRIPrep's motion outliers: one indicator per volume with FD > 0.5 mm or std DVARS > 1.5
    flagged = (np.nan_to_num(columns["framewise_displacement"]) > OUTLIER_FD_MM) | (
        np.nan_to_num(std_dvars) > OUTLIER_STD_DVARS
    )
    for k, volume in enumerate(np.flatnonzero(flagged)):
        outlier = np.zeros(n)
        outlier[volume] = 1.0
        columns[f"motion_outlier{k:02d}"] = outlier
    for k, name in enumerate(MOTION_COLUMNS):
        columns.update(_derivatives(name, motion[:, k]))
    metadata["framewise_displacement"] = {
        "Description": "Power et al. (2012) FD: sum of absolute backward differences of the "
        f"six realignment parameters, rotations on a {FD_RADIUS_MM:g} mm sphere.",
        "Units": "mm",
    }
    return pd.DataFrame(columns), metadata
