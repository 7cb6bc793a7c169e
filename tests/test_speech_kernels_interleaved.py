"""The speech kernels that run several sums side by side (for speed) give exactly the values
of one sum at a time: each sum still adds its terms in order, so the features stay
byte-identical. References are plain Python loops (IEEE double, one term at a time)."""

import numpy as np
import pytest
import scipy.fft

from psymodal.speech import egemaps, shs
from psymodal.speech.audio import frame_signal
from psymodal.speech.spectral import _power_of
from psymodal.speech.timing import _weighted_energy


def _frames(n, length, seed=0):
    return np.random.default_rng(seed).standard_normal((n, length))


@pytest.mark.parametrize("n", [1, 3, 4, 7])
def test_energy_kernels_equal_sequential_sums(n):
    frames, window = _frames(n, 37), np.hanning(37)
    windowed, weighted = [], []
    for row in frames:
        a = b = 0.0
        for x, w in zip(row.tolist(), window.tolist(), strict=True):
            v = x * w
            a += v * v
            b += x * x * w
        windowed.append(a)
        weighted.append(b)
    np.testing.assert_array_equal(egemaps._windowed_energy(frames, window), windowed)
    np.testing.assert_array_equal(_weighted_energy(frames, window), weighted)


@pytest.mark.parametrize("length", [3, 5, 40])
def test_four_lags_equal_sequential_sums(length):
    frame = _frames(1, length, seed=length)[0]
    for k in range(0, 6):
        r = np.zeros(k + 4)
        egemaps._four_lags(frame, k, r)
        f = frame.tolist()
        for m in range(4):
            ref = 0.0
            for j in range(max(length - k - m, 0)):
                ref += f[j] * f[j + k + m]
            assert r[k + m] == ref


def _run_marks_reference(y, sr, a, b, frame_pos, f0_run, rel):
    """``egemaps._run_marks`` as it was before the interleaving: one lag at a time."""
    pos = a + int(np.argmax(y[a : min(a + int(sr / np.interp(a, frame_pos, f0_run)) + 1, b)]))
    marks, amps = [float(pos)], []
    while len(amps) + 1 < (b - a) // 2 + 2:
        t = sr / np.interp(float(pos), frame_pos, f0_run)
        length, lo, hi = int(round(t)), int(np.floor((1 - rel) * t)), int(np.ceil((1 + rel) * t))
        if pos + hi + length + 1 >= b or length < 4:
            break
        template = y[pos : pos + length]
        t_energy = 0.0
        for v in template:
            t_energy += v * v
        cc = []
        for j in range(hi - lo + 2):
            s = pos + lo + j
            num = energy = 0.0
            for i in range(length):
                num += y[s + i] * template[i]
                energy += y[s + i] * y[s + i]
            den = np.sqrt(energy * t_energy)
            cc.append(num / den if den > 0 else -1.0)
        k = int(np.argmax(cc))
        shift = 0.0
        if 0 < k < len(cc) - 1:
            curve = cc[k - 1] - 2 * cc[k] + cc[k + 1]
            if curve < 0:
                shift = min(max(0.5 * (cc[k - 1] - cc[k + 1]) / curve, -0.5), 0.5)
        nxt = pos + lo + k
        amps.append(y[pos:nxt].max() - y[pos:nxt].min())
        marks.append(nxt + shift)
        pos = nxt
    return np.array(marks), np.array(amps)


def test_run_marks_equal_one_lag_at_a_time():
    # A jittered, amplitude-modulated 140 Hz voice: lag searches of 25-30 lags (blocks of
    # four and a remainder).
    sr = 16000.0
    rng = np.random.default_rng(3)
    t = np.arange(3000) / sr
    phase = 2 * np.pi * np.cumsum(140.0 + 8.0 * rng.standard_normal(len(t))) / sr
    y = np.sin(phase) * (1 + 0.2 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(len(t))
    frame_pos = np.arange(0, 3000, 160).astype(np.float64)
    f0_run = 140.0 + 5.0 * np.sin(np.arange(len(frame_pos)))
    marks, amps, n = egemaps._run_marks(y, sr, 0, len(y) - 1, frame_pos, f0_run, 0.1)
    ref_marks, ref_amps = _run_marks_reference(y, sr, 0, len(y) - 1, frame_pos, f0_run, 0.1)
    assert n > 10
    np.testing.assert_array_equal(marks[: n + 1], ref_marks)
    np.testing.assert_array_equal(amps[:n], ref_amps)


def _enhance_reference(magnitude, to_nyquist):
    """The enhancement rule one bin at a time (:func:`psymodal.speech.shs._enhanced_magnitude`)."""
    n = len(magnitude)
    peaks = [
        j
        for j in range(n)
        if n > 1
        and (
            (j == 0 and magnitude[0] > magnitude[1])
            or (0 < j < n - 1 and magnitude[j - 1] < magnitude[j] >= magnitude[j + 1])
            or (j == n - 1 and to_nyquist and magnitude[j] > magnitude[j - 1])
        )
    ]
    if not to_nyquist:
        peaks += [n + 2, n + 5]  # the emulated spectrum's further maxima, above the rows held
    out = magnitude.copy()
    if len(peaks) == 1:
        out[np.abs(np.arange(n) - peaks[0]) > 2] = 0
    for a, b in zip(peaks[:-1], peaks[1:], strict=False):
        out[a + 3 : max(b - 2, a + 3)] = 0
    return out


@pytest.mark.parametrize("to_nyquist", [True, False])
@pytest.mark.parametrize("n_rows", [1, 2, 3, 4, 6, 513])
def test_enhanced_magnitude_equals_the_rule_bin_by_bin(n_rows, to_nyquist):
    rng = np.random.default_rng(n_rows)
    # Rounded parts give plateaus and ties between neighbouring bins; the last rows are a
    # single peak and a flat spectrum.
    parts = np.round(rng.uniform(-2, 2, (11, 2 * n_rows)), 0).astype(np.float32)
    parts[-2] = 0
    parts[-2, 2 * (n_rows // 2)] = 1
    parts[-1] = 1
    spec = parts.view(np.complex64)
    magnitude = np.sqrt(spec.real * spec.real + spec.imag * spec.imag)
    ours = shs._enhanced_magnitude(parts, n_rows, to_nyquist)
    ref = np.array([_enhance_reference(row, to_nyquist) for row in magnitude])
    np.testing.assert_array_equal(ours, ref)


def test_windowed_acf_equals_acf_of_formed_frames():
    rng = np.random.default_rng(5)
    y, length, hop = rng.standard_normal(3000), 96, 16
    centred = np.zeros(len(y) + length)
    centred[length // 2 : length // 2 + len(y)] = y
    idx = np.array([0, 3, 4, 50, 180])
    window = np.hanning(length)
    lags = np.clip(rng.integers(2, 90, len(idx))[:, None] + np.arange(-2, 3), 1, length - 1)
    frames = np.ascontiguousarray(frame_signal(y, length, hop)[idx] * window)
    ours = egemaps._windowed_acf_at_lags(centred, idx * hop, window, lags)
    ref = egemaps._acf_at_lags(frames, lags)
    np.testing.assert_array_equal(ours[0], ref[0])
    np.testing.assert_array_equal(ours[1], ref[1])


def test_power_kernel_equals_numpy_expression():
    spec = scipy.fft.rfft(np.random.default_rng(6).standard_normal((7, 64)).astype(np.float32))
    ref = (spec.real * spec.real + spec.imag * spec.imag).astype(np.float64)
    np.testing.assert_array_equal(_power_of(spec.view(np.float32), spec.shape[1]), ref)
    np.testing.assert_array_equal(_power_of(spec.view(np.float32), 5), ref[:, :5])


def test_cmndf_two_frames_at_a_time_equals_one_at_a_time():
    from psymodal.speech import prosody

    frames = frame_signal(np.random.default_rng(7).standard_normal(2000), 64, 16)
    acf = np.random.default_rng(8).standard_normal((len(frames), 40))
    both = prosody._cmndf_from_acf(frames, acf, 30, 7.0)
    for i in range(len(frames)):  # a single frame takes the one-at-a-time loop
        alone = prosody._cmndf_from_acf(frames[i : i + 1], acf[i : i + 1], 30, 7.0)
        np.testing.assert_array_equal(both[i], alone[0])
