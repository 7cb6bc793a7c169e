"""Source-filter speech synthesiser for the demo study's reading task.

A recording is a sequence of utterances separated by silent pauses. An utterance is a run of
words, a word a run of syllables; each syllable is an onset consonant (a fricative, a stop
closure and burst, or a voiced nasal murmur) followed by a vowel nucleus with a clear intensity
peak. Voiced sound is a Rosenberg (1971) glottal pulse train (differentiated for lip radiation)
with per-period jitter and shimmer, following an F0 contour made of utterance declination,
pitch accents and slow wander, passed through four time-varying formant resonators whose
targets follow each syllable's vowel. Fricatives are band-passed noise. The site adds
background noise and, for some sites, a channel filter.

Generating parameters per subject (see :class:`~psymodal.demo.spec.SubjectParams`): mean F0
(sex-dependent), F0 variability in semitones (lower in patients), mean pause duration
(longer in patients) and articulation rate (slower in patients). The realised values, measured
on the synthesised schedule and contour, are returned for the ground truth.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

from psymodal.demo.spec import SubjectParams

#: Sampling rate of the recordings (Hz).
SAMPLE_RATE = 16000
#: Silence before the first and after the last utterance (s); not counted as pauses.
EDGE_SILENCE_S = 0.3
#: Shortest pause between utterances (s), so that every pause is unambiguous.
MIN_PAUSE_S = 0.25
#: Frame step of the F0 contour and of the realised-value measurements (s).
FRAME_S = 0.01
#: Vowel formant targets F1-F4 (Hz, adult male; scaled by 1.17 for female voices).
VOWELS = {
    "a": (730.0, 1090.0, 2440.0, 3400.0),
    "i": (270.0, 2290.0, 3010.0, 3700.0),
    "u": (300.0, 870.0, 2240.0, 3300.0),
    "e": (530.0, 1840.0, 2480.0, 3500.0),
    "o": (570.0, 840.0, 2410.0, 3400.0),
    "@": (500.0, 1500.0, 2500.0, 3500.0),
}
NASAL = (250.0, 1200.0, 2500.0, 3500.0)
BANDWIDTHS = (90.0, 110.0, 170.0, 250.0)
#: Background noise level relative to the speech RMS (dB) per site.
SITE_SNR_DB = (42.0, 34.0, 38.0, 30.0)
#: Peak level of the speech per site (recording gain).
SITE_PEAK = (0.6, 0.45, 0.7, 0.5)
#: Channel band limits per site (Hz): (high-pass, low-pass), None for a flat channel.
SITE_CHANNEL = (None, (70.0, 4500.0), (60.0, 6000.0), None)


def _site(values: tuple, site_index: int):
    return values[site_index % len(values)]


def schedule(params: SubjectParams, rng: np.random.Generator) -> dict:
    """Plan the utterances, words and syllables of one recording.

    Returns
    -------
    dict
        ``syllables``: list of dicts (``start``, ``onset`` duration, ``end`` in seconds,
        ``kind`` of onset, ``vowel``, ``stress``, ``utterance``); ``utterances``: list of
        (start, end); ``pauses``: list of pause durations; ``duration``: total seconds (the
        target; the trailing silence is :data:`EDGE_SILENCE_S` plus less than a syllable).
    """
    target = params.speech_seconds
    syll_dur = 1.0 / params.articulation_rate
    t = EDGE_SILENCE_S
    syllables: list[dict] = []
    utterances: list[tuple[float, float]] = []
    pauses: list[float] = []
    vowels = list(VOWELS)

    def draw_word():
        n_syll = int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.20]))
        durs = syll_dur * np.exp(rng.normal(0.0, 0.15, n_syll))
        return np.clip(durs, 0.5 * syll_dur, 1.8 * syll_dur)

    def place(word):
        nonlocal t
        stressed = int(rng.integers(len(word)))
        for k, dur in enumerate(word):
            kind = str(rng.choice(["fricative", "stop", "nasal"], p=[0.35, 0.3, 0.35]))
            syllables.append(
                {
                    "start": t,
                    "onset": dur * rng.uniform(0.25, 0.35),
                    "end": t + dur,
                    "kind": kind,
                    "vowel": vowels[int(rng.integers(len(vowels)))],
                    "stress": k == stressed,
                    "utterance": len(utterances),
                }
            )
            t += dur

    end = target - EDGE_SILENCE_S
    word = draw_word()
    utterance_start = t
    words_left = int(rng.integers(3, 9))
    while True:
        if words_left == 0:  # utterance boundary: pause if the pause and a word still fit
            pause = max(MIN_PAUSE_S, params.mean_pause_s * np.exp(rng.normal(0.0, 0.35) - 0.06))
            if t + pause + word.sum() <= end:
                utterances.append((utterance_start, t))
                pauses.append(float(pause))
                t += pause
                utterance_start = t
                words_left = int(rng.integers(3, 9))
            else:  # too little time left for a pause: finish within this utterance
                words_left = 1
        if t + word.sum() > end:  # fill the remaining time with a short word, if it fits
            word = np.array([0.8 * syll_dur])
            if t + word.sum() > end:
                break
        place(word)
        words_left -= 1
        word = draw_word()
    utterances.append((utterance_start, t))
    return {
        "syllables": syllables,
        "utterances": utterances,
        "pauses": pauses,
        "duration": target,
    }


def _contour(plan: dict, params: SubjectParams, rng: np.random.Generator, n_frames: int):
    """F0 contour in semitones re the mean on the frame grid, and the voiced-frame mask."""
    times = np.arange(n_frames) * FRAME_S
    st = np.zeros(n_frames)
    voiced = np.zeros(n_frames, dtype=bool)
    for start, end in plan["utterances"]:
        sel = (times >= start) & (times < end)
        frac = (times[sel] - start) / max(end - start, 1e-6)
        st[sel] += rng.uniform(1.5, 3.0) * (0.5 - frac)  # declination
        st[sel] += rng.normal(0.0, 0.8)  # utterance register
    for syl in plan["syllables"]:
        nucleus = syl["start"] + syl["onset"]
        if syl["kind"] == "nasal":
            voiced[(times >= syl["start"]) & (times < syl["end"])] = True
        else:
            voiced[(times >= nucleus) & (times < syl["end"])] = True
        if syl["stress"] and rng.random() < 0.7:
            centre = 0.5 * (nucleus + syl["end"])
            st += rng.normal(2.0, 0.8) * np.exp(-0.5 * ((times - centre) / 0.09) ** 2)
    wander = np.convolve(rng.standard_normal(n_frames), np.hanning(41), mode="same")
    st += 0.15 * wander
    # impose the subject's variability exactly on the voiced frames
    sd = st[voiced].std()
    st = (st - st[voiced].mean()) * (params.f0_sd_semitones / sd)
    return st, voiced


def _rosenberg(u: np.ndarray, open_q: float = 0.4, close_q: float = 0.16) -> np.ndarray:
    """Rosenberg glottal flow for phase ``u`` in [0, 1)."""
    flow = np.zeros_like(u)
    rising = u < open_q
    flow[rising] = 0.5 * (1.0 - np.cos(np.pi * u[rising] / open_q))
    falling = (u >= open_q) & (u < open_q + close_q)
    flow[falling] = np.cos(np.pi * (u[falling] - open_q) / (2.0 * close_q))
    return flow


def _resonators(formants: np.ndarray) -> np.ndarray:
    """Second-order sections (unit DC gain) for rows of formant frequencies (n, 4)."""
    fs = SAMPLE_RATE
    r = np.exp(-np.pi * np.asarray(BANDWIDTHS) / fs)
    theta = 2.0 * np.pi * formants / fs
    a1 = -2.0 * r * np.cos(theta)
    a2 = np.broadcast_to(r**2, a1.shape)
    gain = 1.0 + a1 + a2
    sos = np.zeros(formants.shape + (6,))
    sos[..., 0] = gain
    sos[..., 3] = 1.0
    sos[..., 4] = a1
    sos[..., 5] = a2
    return sos


def synthesize(params: SubjectParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Synthesise one subject's reading-task recording.

    Parameters
    ----------
    params : SubjectParams
        Voice, pause and rate parameters, sex and site.
    rng : numpy.random.Generator
        The subject's voice stream.

    Returns
    -------
    audio : numpy.ndarray
        float64 samples in [-1, 1] at :data:`SAMPLE_RATE`.
    truth : dict
        Realised values: ``duration_s``, ``f0_mean_hz``, ``f0_sd_semitones``, ``f0_sd_hz``,
        ``pause_ratio``, ``mean_pause_s``, ``n_pauses``, ``speech_rate_syll_per_s``,
        ``articulation_rate``, ``n_syllables``, ``phonation_time_s``, and the same over the
        speaking span (first syllable onset to last offset): ``speaking_span_s``,
        ``pause_ratio_span``, ``speech_rate_span_syll_per_s``.
    """
    fs = SAMPLE_RATE
    plan = schedule(params, rng)
    n = int(round(plan["duration"] * fs))
    n_frames = int(np.ceil(n / (FRAME_S * fs))) + 1
    st, voiced_frames = _contour(plan, params, rng, n_frames)

    # sample-level envelopes and formant targets
    voice_amp = np.zeros(n)
    noise_amp = np.zeros(n)
    scale = 1.17 if params.sex == "F" else 1.0
    formants = np.empty((n, 4))
    formants[:] = np.asarray(VOWELS["@"]) * scale
    previous = np.asarray(VOWELS["@"]) * scale
    for syl in plan["syllables"]:
        s0 = int(round(syl["start"] * fs))
        s1 = int(round((syl["start"] + syl["onset"]) * fs))
        s2 = min(int(round(syl["end"] * fs)), n)
        level_db = (3.0 if syl["stress"] else -2.0) + rng.normal(0.0, 1.0)
        level = 10 ** (level_db / 20.0)
        target = np.asarray(VOWELS[syl["vowel"]]) * scale
        # consonant noise rises into the vowel and fades under its onset (coarticulation),
        # so that the vowel nucleus stays the syllable's only intensity peak
        fade = min(int(0.03 * fs), s2 - s1)
        if syl["kind"] == "fricative":
            m = s1 - s0
            noise_amp[s0:s1] = 0.05 * level * np.minimum(1.0, np.arange(1, m + 1) / (0.6 * m))
            noise_amp[s1 : s1 + fade] = 0.05 * level * np.linspace(1.0, 0.0, fade)
        elif syl["kind"] == "stop":
            burst = min(int(0.012 * fs), s1 - s0)
            noise_amp[s1 - burst : s1] = 0.08 * level
            noise_amp[s1 : s1 + fade] = 0.08 * level * np.linspace(1.0, 0.0, fade)
        else:  # nasal murmur: weak voicing through a low first formant
            voice_amp[s0:s1] = 0.18 * level
            formants[s0:s1] = np.asarray(NASAL) * scale
        m = s2 - s1
        u = np.linspace(0.0, 1.0, m, endpoint=False)
        # single-peaked nucleus (peak at 40% of the vowel): one clear intensity maximum
        voice_amp[s1:s2] = level * np.sin(np.pi * u**0.75)
        glide = np.clip(u / 0.3, 0.0, 1.0)[:, None]
        formants[s1:s2] = previous + glide * (target - previous)
        previous = target
    # utterance-final intensity decline
    for start, end in plan["utterances"]:
        a, b = int(start * fs), int(end * fs)
        voice_amp[a:b] *= np.linspace(1.0, 0.7, b - a)

    # glottal source: F0 with per-period jitter, Rosenberg pulses with shimmer
    frame_t = np.arange(n_frames) * FRAME_S
    sample_t = np.arange(n) / fs
    f0 = params.f0_mean_hz * 2.0 ** (np.interp(sample_t, frame_t, st) / 12.0)
    phase = np.cumsum(f0 / fs)
    n_periods = int(phase[-1]) + 2
    jitter = 1.0 + 0.006 * rng.standard_normal(n_periods)
    phase = np.cumsum(f0 * jitter[phase.astype(int)] / fs)
    period = phase.astype(int)
    shimmer = 1.0 + 0.04 * rng.standard_normal(int(phase[-1]) + 2)
    flow = _rosenberg(phase - period) * shimmer[period]
    source = np.diff(flow, prepend=0.0) * voice_amp

    # time-varying formant filter: coefficients updated every 10 ms (block-centre formants),
    # state carried across blocks; runs of identical blocks are filtered in one call
    block = int(FRAME_S * fs)
    starts = np.arange(0, n, block)
    centres = formants[np.minimum(starts + block // 2, n - 1)]
    change = np.flatnonzero(np.any(np.diff(centres, axis=0) != 0, axis=1)) + 1
    run_starts = np.concatenate([[0], change])
    run_ends = np.concatenate([change, [len(starts)]])
    sos_all = _resonators(centres[run_starts])
    zi = np.zeros((4, 2))
    voiced_out = np.empty(n)
    for k, (r0, r1) in enumerate(zip(run_starts, run_ends, strict=True)):
        seg = slice(starts[r0], min(starts[r1 - 1] + block, n))
        voiced_out[seg], zi = sosfilt(sos_all[k], source[seg], zi=zi)
    hiss = sosfilt(
        butter(2, [3500.0, 7500.0], btype="bandpass", fs=fs, output="sos"), rng.standard_normal(n)
    )
    speech = voiced_out / (np.abs(voiced_out).max() + 1e-12) + hiss * noise_amp

    # recording chain: gain, background noise, channel
    site = params.site_index
    speech *= _site(SITE_PEAK, site) / (np.abs(speech).max() + 1e-12)
    active = voice_amp > 0.05
    rms = np.sqrt(np.mean(speech[active] ** 2))
    noise = rng.standard_normal(n) * rms * 10 ** (-_site(SITE_SNR_DB, site) / 20.0)
    audio = speech + noise
    channel = _site(SITE_CHANNEL, site)
    if channel is not None:
        hp, lp = channel
        audio = sosfilt(butter(2, hp, btype="highpass", fs=fs, output="sos"), audio)
        audio = sosfilt(butter(4, lp, btype="lowpass", fs=fs, output="sos"), audio)
    audio = np.clip(audio, -1.0, 1.0)

    # realised ground truth
    f0_frames = params.f0_mean_hz * 2.0 ** (st / 12.0)
    v = f0_frames[voiced_frames]
    semis = 12.0 * np.log2(v)
    duration = n / fs
    pauses = np.asarray(plan["pauses"])
    phonation = sum(end - start for start, end in plan["utterances"])
    span = plan["utterances"][-1][1] - plan["utterances"][0][0]
    n_syll = len(plan["syllables"])
    truth = {
        "duration_s": duration,
        "f0_mean_hz": float(v.mean()),
        "f0_sd_semitones": float(semis.std()),
        "f0_sd_hz": float(v.std()),
        "pause_ratio": float(pauses.sum() / duration),
        "mean_pause_s": float(pauses.mean()) if pauses.size else float("nan"),
        "n_pauses": int(pauses.size),
        "speech_rate_syll_per_s": n_syll / duration,
        "articulation_rate": n_syll / phonation if phonation > 0 else float("nan"),
        "n_syllables": n_syll,
        "phonation_time_s": float(phonation),
        "speaking_span_s": float(span),
        "pause_ratio_span": float(pauses.sum() / span),
        "speech_rate_span_syll_per_s": n_syll / span,
    }
    return audio, truth
