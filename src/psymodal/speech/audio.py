"""Loading audio files into a fixed-rate mono signal, and framing it on a fixed time grid.

Every analysis in :mod:`psymodal.speech` uses the same frame grid: frame ``i`` is centred on
``i * hop_length`` samples (the signal is zero-padded by half a frame on both sides, as
``librosa`` does with ``center=True``), so there are ``1 + len(y) // hop_length`` frames whatever
the frame length. Sharing the grid lets pitch, energy and spectral frames be combined by index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from psymodal.io.files import file_problem

__all__ = [
    "AudioError",
    "Audio",
    "read_audio",
    "load_audio",
    "resample",
    "centred_padding",
    "frame_signal",
    "n_frames",
]

#: Resampler used whenever the file's rate differs from the requested one. soxr's "HQ" preset
#: is deterministic (no dithering, no threading effects on the result) and phase-linear.
RESAMPLER = "soxr_hq"


def resample(y: np.ndarray, orig_sr: int, target_sr: float) -> np.ndarray:
    """``y`` resampled from ``orig_sr`` to ``target_sr`` with soxr's "HQ" preset.

    The same samples as ``librosa.resample(res_type="soxr_hq")``, without importing librosa,
    whose import compiles numba kernels that the speech features do not use (most of the
    first file's latency in a fresh environment). ``target_sr`` need not be whole (eGeMAPS
    analyses a 22.05 kHz file at 15,963.8 Hz; see :mod:`psymodal.speech.egemaps`).
    """
    import soxr

    y = np.asarray(y, dtype=np.float64)
    target = int(target_sr) if float(target_sr).is_integer() else float(target_sr)
    return soxr.resample(y, int(orig_sr), target, quality="HQ")


class AudioError(ValueError):
    """An audio file that cannot be used: empty, corrupt, unsupported or with invalid samples."""


@dataclass(frozen=True)
class Audio:
    """A decoded recording.

    Attributes
    ----------
    y : numpy.ndarray
        Mono float64 signal at ``sr``, DC removed.
    sr : int
        Sampling rate of ``y`` in Hz.
    native_sr : int
        Sampling rate of the file; content above ``native_sr / 2`` is absent from ``y``.
    n_channels : int
        Number of channels in the file.
    clipping_fraction : float
        Fraction of the file's samples at or above 99.9 % of full scale, in any channel.
    channels_used : str
        How ``y`` was made from the file's channels: ``mono`` (one channel), or the
        ``speech.channels`` policy ``mean``, ``left`` or ``right``.
    native_y : numpy.ndarray or None
        When ``y`` was resampled down from the file's rate: the mono signal at ``native_sr``
        (DC removed, float32), from which eGeMAPS reads its 20 ms spectra as openSMILE frames them
        (:func:`psymodal.speech.analyse_recording`'s ``native_y``); None otherwise.
    """

    y: np.ndarray
    sr: int
    native_sr: int
    n_channels: int
    clipping_fraction: float
    channels_used: str = "mono"
    native_y: np.ndarray | None = None


#: How a multi-channel recording becomes mono (``speech.channels``).
CHANNEL_POLICIES = ("mean", "left", "right")


def _wav_data_sizes(path: Path) -> tuple[int, int, int, int] | None:
    """``(declared, present, block_align, sample_rate)`` of a RIFF/WAVE file's data chunk
    (bytes, bytes, bytes per frame, Hz), read from its header.

    None when the file is not a plain RIFF WAVE, or its header leaves the size open (0 or
    0xFFFFFFFF, written by recorders that stream).
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            block_align = rate = 0
            while True:
                chunk = handle.read(8)
                if len(chunk) < 8:
                    return None
                name, length = chunk[:4], int.from_bytes(chunk[4:8], "little")
                if name == b"fmt ":
                    body = handle.read(min(length, 16))
                    if len(body) < 14:
                        return None
                    rate = int.from_bytes(body[4:8], "little")
                    block_align = int.from_bytes(body[12:14], "little")
                    handle.seek(length - len(body) + (length & 1), 1)
                elif name == b"data":
                    if length in (0, 0xFFFFFFFF) or not (block_align and rate):
                        return None
                    return length, size - handle.tell(), block_align, rate
                else:
                    handle.seek(length + (length & 1), 1)
    except OSError:
        return None


def _check_wav_length(path: Path, shown: str) -> None:
    """Raise :class:`AudioError` when a WAV header declares more audio than the file holds."""
    sizes = _wav_data_sizes(path)
    if sizes is None:
        return
    declared, present, block_align, rate = sizes
    if declared <= present + 1:  # an odd-sized chunk may lack its pad byte
        return
    per_second = float(rate * block_align)
    raise AudioError(
        f"{shown}: truncated: the WAV header declares {declared / per_second:.2f} s of audio "
        f"but the file holds {max(present, 0) / per_second:.2f} s; the copy or the recording "
        "was cut off, copy or export it again"
    )


def _supported_extensions() -> set[str]:
    # libsndfile's own list of container formats, as lower-case file extensions.
    exts = {f".{name.lower()}" for name in sf.available_formats()}
    return exts | {".wav", ".flac", ".ogg", ".aiff", ".aif", ".oga"}


def read_audio(
    path: str | os.PathLike,
    sample_rate: int | None = 16000,
    channels: str = "mean",
    shown: str | os.PathLike | None = None,
    upsample: bool = True,
) -> Audio:
    """Decode ``path`` into an :class:`Audio` record (see :func:`load_audio`).

    Parameters
    ----------
    path : str or os.PathLike
        Audio file readable by libsndfile (WAV, FLAC, Ogg Vorbis/Opus, AIFF...).
    sample_rate : int or None
        Target rate in Hz; ``None`` keeps the file's rate.
    channels : {'mean', 'left', 'right'}
        How a multi-channel file becomes mono (``speech.channels``).
    shown : str or os.PathLike, optional
        How messages name the file (e.g. its path inside the dataset); ``path`` by default.
    upsample : bool, default True
        False: a file below ``sample_rate`` keeps its own rate (only higher rates are
        resampled down), as :func:`psymodal.speech.extract_features` analyses it. The speech
        stage reads this way: upsampling adds no content, but it moves the spectral features
        of band-limited (e.g. 8 kHz telephone) recordings away from openSMILE's values.

    Returns
    -------
    Audio

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    AudioError
        The file is not a regular file (a FIFO, a device, a dangling link), is empty, cannot
        be decoded, has an unsupported format, is truncated (a WAV header declaring more
        audio than the file holds), has no samples, contains NaN/inf samples, or lacks the
        channel ``channels`` asks for.
    """
    path = Path(path)
    shown = path if shown is None else shown
    if channels not in CHANNEL_POLICIES:
        raise ValueError(f"channels must be one of {CHANNEL_POLICIES}, not {channels!r}")
    problem = file_problem(path)
    if problem == "does not exist":
        raise FileNotFoundError(
            f"{shown}: audio file not found; check the path and the BIDS layout"
        )
    if problem:
        raise AudioError(f"{shown}: {problem}; replace it with the recording itself")
    if path.stat().st_size == 0:
        raise AudioError(f"{shown}: file is empty (0 bytes); re-export or re-copy the recording")
    _check_wav_length(path, str(shown))
    try:
        with sf.SoundFile(path) as handle:
            native_sr = int(handle.samplerate)
            data = handle.read(dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        # libsndfile's message quotes the path it was given: name the file as asked
        detail = str(err).replace(str(path), str(shown))
        suffix = path.suffix.lower()
        if suffix not in _supported_extensions():
            raise AudioError(
                f"{shown}: unsupported audio format '{suffix}' ({detail}); convert it to WAV, "
                "FLAC or Ogg (e.g. `ffmpeg -i in.mp3 out.wav`)"
            ) from err
        raise AudioError(
            f"{shown}: cannot be decoded, the header or data is corrupt or truncated ({detail}); "
            "re-export the recording or check the copy"
        ) from err
    if data.size == 0:
        raise AudioError(f"{shown}: file holds no audio samples; re-export the recording")
    if not np.all(np.isfinite(data)):
        raise AudioError(
            f"{shown}: contains NaN or infinite samples; the recording is damaged, re-export it"
        )
    clipping = float(np.mean(np.any(np.abs(data) >= 0.999, axis=1)))
    n_channels = data.shape[1]
    if n_channels == 1:
        used, y = "mono", data[:, 0]
    elif channels == "mean":
        used, y = "mean", data.mean(axis=1)
    else:
        used, y = channels, data[:, 0 if channels == "left" else 1]
    sr = native_sr
    native_y = None
    if sample_rate is not None and (
        int(sample_rate) < native_sr or (upsample and int(sample_rate) > native_sr)
    ):
        if int(sample_rate) < native_sr:
            # single precision: eGeMAPS frames it in float32 (the same values), and it is
            # kept beside y for the whole analysis (half the memory of a long recording)
            native_y = np.ascontiguousarray(y - y.mean(), dtype=np.float32)
        y = resample(y, native_sr, int(sample_rate))
        sr = int(sample_rate)
    # DC offsets from cheap sound cards would bias energy, pause and low-frequency spectra.
    y = np.ascontiguousarray(y - y.mean(), dtype=np.float64)
    return Audio(
        y=y,
        sr=sr,
        native_sr=native_sr,
        n_channels=n_channels,
        clipping_fraction=clipping,
        channels_used=used,
        native_y=native_y,
    )


def load_audio(path: str | os.PathLike, sample_rate: int | None = 16000) -> tuple[np.ndarray, int]:
    """Load an audio file as a mono float64 signal at a fixed sampling rate.

    The file is decoded with ``soundfile`` (libsndfile); several channels are averaged into one;
    a file at another rate is resampled with soxr's "HQ" preset (:func:`resample`), which is
    deterministic; the mean (DC offset) is then removed.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file (WAV, FLAC, Ogg...).
    sample_rate : int or None, default 16000
        Target rate in Hz; ``None`` keeps the file's rate.

    Returns
    -------
    y : numpy.ndarray
        Mono signal, float64, zero mean.
    sr : int
        Its sampling rate in Hz.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    AudioError
        Empty, corrupt, unsupported, sample-less or NaN-containing file; the message names the
        file, the problem and what to do.
    """
    audio = read_audio(path, sample_rate)
    return audio.y, audio.sr


def n_frames(n_samples: int, hop_length: int) -> int:
    """Number of frames on the shared centred grid for a signal of ``n_samples`` samples."""
    return 1 + n_samples // hop_length


def centred_padding(y: np.ndarray, frame_length: int) -> np.ndarray:
    """``y`` (float64) with ``frame_length // 2`` zeros before it and the rest of
    ``frame_length`` after: the signal :func:`frame_signal` slides its frames over, so that
    the frame starting ``k * hop_length`` samples into it is centred on sample
    ``k * hop_length`` of ``y``."""
    y = np.asarray(y, dtype=np.float64)
    # np.pad's result, without its per-call overhead (it shows on short recordings).
    padded = np.zeros(len(y) + frame_length)
    padded[frame_length // 2 : frame_length // 2 + len(y)] = y
    return padded


def frame_signal(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Centred frames of ``y`` on the shared grid, as a read-only ``(n_frames, frame_length)`` view.

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    frame_length, hop_length : int
        Frame and hop sizes in samples.

    Returns
    -------
    numpy.ndarray
        Frame ``i`` holds samples ``i * hop_length - frame_length // 2`` onwards (zero outside
        the signal).
    """
    padded = centred_padding(y, frame_length)
    # The view sliding_window_view(padded, frame_length)[::hop_length] gives, without its
    # argument checks (a third of this function's cost on a short clip, called 8 times per
    # recording): the same shape, strides and read-only flag.
    step = padded.strides[0]
    return np.lib.stride_tricks.as_strided(
        padded,
        shape=(n_frames(len(padded) - frame_length, hop_length), frame_length),
        strides=(hop_length * step, step),
        writeable=False,
    )
