"""The speech features' numba kernels against the numpy code they replaced (same values)."""

import numpy as np
import pytest
from scipy import fft

from psymodal.speech import egemaps, prosody
from psymodal.speech.audio import frame_signal


def _voice(sr: int = 16000, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """A gliding pulse-train vowel in noise, with a silent start."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 110.0 + 60.0 * t
    y = np.sign(np.sin(2 * np.pi * np.cumsum(f0) / sr)) * 0.3
    y[: sr // 10] = 0.0
    return y + 0.01 * rng.standard_normal(len(y))


def _reference_picks(d, min_period, threshold, margin, k, sr):
    """psymodal 0.x's numpy YIN dip picking (before the _pick_dips kernel)."""
    d = d[:, min_period:]
    trough = np.zeros(d.shape, dtype=bool)
    trough[:, 1:-1] = (d[:, 1:-1] < d[:, :-2]) & (d[:, 1:-1] <= d[:, 2:])
    trough[:, 0] = d[:, 0] < d[:, 1]
    limit = np.maximum(threshold, d.min(axis=1, keepdims=True) + margin)
    below = trough & (d < limit)
    idx = np.where(below.any(axis=1), np.argmax(below, axis=1), np.argmin(d, axis=1))
    cols = [idx]
    if k > 1:
        depth = np.where(trough, d, np.inf)
        depth[np.arange(len(d)), idx] = np.inf
        order = np.argsort(depth, axis=1, kind="stable")[:, : k - 1]
        cols += [order[:, j] for j in range(order.shape[1])]
    rows = np.arange(len(d))
    f0 = np.full((len(d), k), np.nan)
    aper = np.full((len(d), k), np.nan)
    for j, lag in enumerate(cols):
        valid = trough[rows, lag] & (lag != idx) if j > 0 else np.ones(len(d), dtype=bool)
        inner = np.clip(lag, 1, d.shape[1] - 2)
        a, b, c = d[rows, inner - 1], d[rows, inner], d[rows, inner + 1]
        denom = a - 2.0 * b + c
        with np.errstate(invalid="ignore", divide="ignore"):
            shift = np.where(denom > 0, 0.5 * (a - c) / denom, 0.0)
        shift = np.where((lag == inner) & (np.abs(shift) <= 1.0), shift, 0.0)
        f0[:, j] = np.where(valid, sr / (min_period + lag + shift), np.nan)
        aper[:, j] = np.where(valid, d[rows, lag], np.nan)
    return f0, aper


@pytest.mark.parametrize("k", [1, 2, 4])
def test_pick_dips_equals_numpy_reference(k):
    frames = frame_signal(_voice(), 640, 160)
    d = prosody._cmndf_block(frames, 267)
    rng = np.random.default_rng(k)
    # Also rough random curves, with ties (rounded values) and a flat row.
    noise = np.round(rng.uniform(0, 1.5, (40, 268)), 1)
    noise[0] = 0.5
    for cmndf in (d, noise):
        ours = prosody._pick_dips(cmndf, 32, 0.1, 0.05, k, 16000.0)
        ref = _reference_picks(cmndf, 32, 0.1, 0.05, k, 16000)
        np.testing.assert_array_equal(ours[0], ref[0])
        np.testing.assert_array_equal(ours[1], ref[1])


def test_cmndf_block_equals_irfft_reference():
    frames = frame_signal(_voice(), 640, 160)
    max_period = 267
    n_fft = fft.next_fast_len(640 + max_period + 1, real=True)
    spec = fft.rfft(frames, n=n_fft, axis=1)
    acf = fft.irfft(spec.real**2 + spec.imag**2, n=n_fft, axis=1)
    ref = prosody._cmndf_from_acf(np.ascontiguousarray(frames), acf, max_period, 1.0)
    np.testing.assert_allclose(prosody._cmndf_block(frames, max_period), ref, rtol=0, atol=1e-10)


def test_lpc_by_frame_equals_vectorised_levinson():
    rng = np.random.default_rng(1)
    padded = np.pad(_voice(11000), (110, 220))
    padded[2000:2400] = 0.0  # frames without energy
    starts = np.sort(rng.choice(len(padded) - 220, 300, replace=False)).astype(np.int64)
    starts[:3] = 2050
    win = np.hamming(220)
    order = 11
    a, good = egemaps._lpc_by_frame(padded, starts, win, order)
    # Reference: the vectorised numpy Levinson-Durbin that the kernel replaced.
    frames = padded[starts[:, None] + np.arange(220)[None, :]] * win
    r = np.stack([np.einsum("ij,ij->i", frames[:, : 220 - k], frames[:, k:]) for k in range(12)], 1)
    ref = np.zeros((len(starts), order + 1))
    ref[:, 0] = 1.0
    err = r[:, 0].copy()
    ref_good = err > 1e-12
    err[~ref_good] = 1.0
    for i in range(1, order + 1):
        acc = r[:, i] + np.einsum("nj,nj->n", ref[:, 1:i], r[:, i - 1 : 0 : -1])
        k = -acc / err
        prev = ref[:, 1:i].copy()
        ref[:, 1:i] = prev + k[:, None] * prev[:, ::-1]
        ref[:, i] = k
        err = np.maximum(err * (1.0 - k * k), 1e-15)
    assert not good[:3].any()
    np.testing.assert_array_equal(good, ref_good)
    np.testing.assert_allclose(a[good], ref[good], rtol=1e-9, atol=1e-11)


def test_max_magnitude_in_bins_equals_fancy_indexing():
    rng = np.random.default_rng(2)
    spec = rng.standard_normal((50, 64)) + 1j * rng.standard_normal((50, 64))
    lo = rng.integers(0, 64, 50)
    hi = np.minimum(lo + rng.integers(0, 9, 50), 63)
    span = int(np.max(hi - lo)) + 1
    cols = np.minimum(lo[:, None] + np.arange(span)[None, :], hi[:, None])
    mag = np.sqrt(spec.real**2 + spec.imag**2)
    ref = mag[np.arange(50)[:, None], cols].max(axis=1)
    np.testing.assert_array_equal(egemaps._max_magnitude_in_bins(spec, lo, hi), ref)


def test_acf_at_lags_and_windowed_energy_equal_direct_sums():
    rng = np.random.default_rng(4)
    frames = rng.standard_normal((30, 200))
    lags = np.clip(rng.integers(-1, 200, 30)[:, None] + np.arange(-2, 3)[None, :], 1, 199)
    acf, energy = egemaps._acf_at_lags(frames, lags)
    for i in range(30):
        assert energy[i] == sum(x * x for x in frames[i])
        for q in range(5):
            k = lags[i, q]
            pairs = zip(frames[i, : 200 - k], frames[i, k:], strict=True)
            assert acf[i, q] == sum(a * b for a, b in pairs)
    window = np.hanning(200)
    ref = np.einsum("ij,ij->i", frames * window, frames * window)
    np.testing.assert_allclose(egemaps._windowed_energy(frames, window), ref, rtol=1e-13)


def _reference_jitter_shimmer(marks_all, amps_all, n, hop, sr, window_s=0.06):
    """psymodal 0.x's numpy jitter and shimmer (before the _jitter_shimmer_runs kernel)."""
    jitter = np.full(n, np.nan)
    shimmer = np.full(n, np.nan)
    half = 0.5 * window_s * sr
    centres = np.arange(n) * hop
    for marks, amps in zip(marks_all, amps_all, strict=True):
        periods = np.diff(marks)
        starts = marks[:-1]
        ratio_t = np.maximum(periods[1:], periods[:-1]) / np.minimum(periods[1:], periods[:-1])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio_a = np.maximum(amps[1:], amps[:-1]) / np.minimum(amps[1:], amps[:-1])
        ok_t = ratio_t <= egemaps._MAX_PERIOD_FACTOR
        ok_a = ok_t & (ratio_a <= egemaps._MAX_AMPLITUDE_FACTOR)
        dper = np.where(ok_t, np.abs(np.diff(periods)), 0.0)
        damp = np.where(ok_a, 20.0 * np.log10(np.where(ok_a, ratio_a, 1.0)), 0.0)

        def csum(x):
            return np.concatenate([[0.0], np.cumsum(x)])

        c_per, c_dper, c_damp = csum(periods), csum(dper), csum(damp)
        c_nt, c_na = csum(ok_t), csum(ok_a)
        fr = np.flatnonzero((centres >= starts[0] - half) & (centres <= marks[-1] + half))
        lo = np.searchsorted(starts, centres[fr] - half)
        hi = np.searchsorted(starts, centres[fr] + half)
        has = hi - lo >= 3
        fr, lo, hi = fr[has], lo[has], hi[has]
        n_t = c_nt[hi - 1] - c_nt[lo]
        n_a = c_na[hi - 1] - c_na[lo]
        mean_t = (c_per[hi] - c_per[lo]) / (hi - lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            jit = (c_dper[hi - 1] - c_dper[lo]) / n_t / mean_t
            shim = (c_damp[hi - 1] - c_damp[lo]) / n_a
        jitter[fr] = np.where(n_t >= 2, jit, np.nan)
        shimmer[fr] = np.where(n_a >= 2, shim, np.nan)
    return jitter, shimmer


def test_jitter_shimmer_equals_numpy_reference():
    sr, hop = 16000, 160
    y = np.concatenate([_voice(sr, 0.6, seed=1), np.zeros(2000), _voice(sr, 0.4, seed=2)])
    n = 1 + len(y) // hop
    f0 = np.full(n, np.nan)
    f0[12:55] = 120.0
    f0[58:70] = 150.0  # a second run close enough to share frames with the first
    f0[75:105] = 130.0
    marks, amps = egemaps._period_marks(y, sr, f0, hop, 0.1)
    assert len(marks) >= 2
    rng = np.random.default_rng(3)
    # Perturbed runs too: period and amplitude jumps beyond Praat's limits, a zero amplitude.
    marks.append(np.cumsum(rng.uniform(80, 140, 60)) + 5000.0)
    amps.append(np.where(np.arange(59) == 7, 0.0, rng.uniform(0.1, 0.5, 59)))
    ours = egemaps._jitter_shimmer(marks, amps, n, hop, sr)
    ref = _reference_jitter_shimmer(marks, amps, n, hop, sr)
    assert np.isfinite(ref[0]).sum() > 20
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-12, atol=0)
    empty = egemaps._jitter_shimmer([], [], n, hop, sr)
    assert np.isnan(empty[0]).all() and np.isnan(empty[1]).all()


def test_sma3nz_equals_shifted_sums():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(200)
    valid = rng.uniform(size=200) < 0.6
    valid[:2] = True
    valid[-1] = True
    v = np.where(valid, x, 0.0)
    pv = np.concatenate([[0.0], v, [0.0]])
    pw = np.concatenate([[0.0], valid.astype(float), [0.0]])
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = np.where(valid, (pv[:-2] + pv[1:-1] + pv[2:]) / (pw[:-2] + pw[1:-1] + pw[2:]), np.nan)
    np.testing.assert_array_equal(egemaps._sma3nz(x, valid), ref)
    np.testing.assert_array_equal(egemaps._sma3nz(np.empty(0), np.empty(0, dtype=bool)), [])


def test_frame_signal_and_shared_windows():
    from psymodal.speech.spectral import _shared_filterbank, mel_filterbank

    y = np.arange(1.0, 24.0)
    frames = frame_signal(y, 6, 4)
    padded = np.pad(y, (3, 3))
    ref = np.lib.stride_tricks.sliding_window_view(padded, 6)[::4][: 1 + len(y) // 4]
    np.testing.assert_array_equal(frames, ref)
    freqs = np.fft.rfftfreq(512, 1 / 16000)
    bank = _shared_filterbank(freqs, 26, 20.0, 8000.0)
    np.testing.assert_array_equal(bank, mel_filterbank(freqs, 26, 20.0, 8000.0))
    assert _shared_filterbank(freqs.copy(), 26, 20.0, 8000.0) is bank
    assert not bank.flags.writeable and not egemaps._gaussian_window(960).flags.writeable


def test_running_median_equals_scipy_median_filter():
    from scipy.ndimage import median_filter

    rng = np.random.default_rng(6)
    for n in (1, 2, 3, 5, 40):
        x = np.round(rng.standard_normal(n), 1)  # ties included
        ref = median_filter(x, size=5, mode="nearest")
        np.testing.assert_array_equal(prosody._running_median(x, 5), ref)


def test_weighted_energy_equals_matrix_product():
    from psymodal.speech.timing import _weighted_energy

    frames = frame_signal(_voice(), 1024, 160)
    window = np.hanning(1026)[1:-1]
    ref = (frames * frames) @ window
    np.testing.assert_allclose(_weighted_energy(frames, window), ref, rtol=1e-12)
