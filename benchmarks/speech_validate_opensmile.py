"""Agreement of psymodal's eGeMAPS-equivalent features with openSMILE's eGeMAPSv02.

Runs both extractors on the same decoded signals (each file at its native rate, so both see
identical samples) from the shared real-speech folder: LibriSpeech, PC-GITA, CMU ARCTIC and
a fixed sample of Free Spoken Digit Dataset files. For each of the 88 functionals it prints
the Pearson r across files and the median relative difference |ours - openSMILE| / |openSMILE|.

openSMILE is a validation reference only (its licence forbids commercial use); install it into
the development environment with ``pip install opensmile==2.6.0``. The script exits cleanly
(status 0, with a message) when the shared data or openSMILE is absent.

Usage::

    python benchmarks/speech_validate_opensmile.py [--n-fsdd 100] [--fsdd-offset 0]
        [--reference-voicing] [--stability] [--out results.tsv]

``--stability`` adds, for every feature, how well each tool agrees with itself when the same
recording is presented differently: upsampled 2x (soxr HQ, so the same band-limited content at
twice the rate) and 10 dB quieter. openSMILE's self-agreement bounds what any independent
implementation can reach against it: a feature that moves with the presentation in the
reference cannot be matched file by file without reproducing the reference's own artefacts.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]

# Features with an r >= 0.9 target: the central-tendency functionals (amean, percentiles) of
# F0, loudness, MFCC, spectral slope, alpha ratio and Hammarberg index, and the voiced-segment
# rate and length. Their stddevNorm (SD / mean) functionals are reported but not targets:
# for contours whose mean is near zero (MFCC 2-4, slopes) the ratio is unstable in both tools.
TARGET_PATTERN = re.compile(
    r"^(F0semitoneFrom27\.5Hz_sma3nz|loudness_sma3)_(amean|percentile\d+\.0)$"
    r"|^mfcc[1-4]V?_sma3(nz)?_amean$"
    r"|^(slopeV0-500|slopeV500-1500|alphaRatioV|alphaRatioUV|hammarbergIndexV"
    r"|hammarbergIndexUV)_sma3nz_amean$"
    r"|^(VoicedSegmentsPerSec|MeanVoicedSegmentLengthSec)$"
)


def shared_speech_dir() -> Path | None:
    """The shared real-speech folder, or None when this machine has none."""
    candidates = [os.environ.get("PSYMODAL_SHARED"), "/work/shared", str(REPO.parent / "shared")]
    for base in candidates:
        if base and (Path(base) / "data" / "speech").is_dir():
            return Path(base) / "data" / "speech"
    return None


def speech_and_reference():
    """The shared speech folder and the opensmile module, or None (with a SKIP line) when
    either is missing: both benchmarks then exit cleanly."""
    speech = shared_speech_dir()
    if speech is None:
        print("SKIP: shared speech data not found (/work/shared or ../shared)")
        return None
    try:
        import opensmile
    except ImportError:
        print("SKIP: opensmile not installed (pip install opensmile==2.6.0, validation only)")
        return None
    return speech, opensmile


def validation_files(speech: Path, n_fsdd: int, fsdd_offset: int = 0) -> list[Path]:
    """Deterministic file list: all non-FSDD recordings plus an evenly spaced FSDD sample.

    ``fsdd_offset`` shifts the FSDD sample: offset 0 is the sample the pitch tracker's
    costs were chosen on; another offset (e.g. 15) gives a disjoint, held-out sample.
    """
    files = sorted((speech / "librispeech").glob("*.ogg"))
    files += sorted((speech / "pcgita").glob("*.wav"))
    files += sorted((speech / "arctic").glob("*.wav"))
    fsdd = sorted((speech / "fsdd").glob("*.wav"))
    if fsdd and n_fsdd > 0:
        step = max(len(fsdd) // n_fsdd, 1)
        files += fsdd[fsdd_offset % step :: step][:n_fsdd]
    return files


def undefined_as_nan(ref: pd.DataFrame) -> pd.DataFrame:
    """openSMILE writes 0 for a functional over no frames; mark those values as missing.

    ``*_sma3nz_*`` functionals are computed over voiced (or, for ``UV``, unvoiced) frames
    only: a file without such frames gets exactly 0.0, which is "undefined", not a value.
    """
    ref = ref.copy()
    for col in ref.columns:
        if "_sma3nz_" in col:
            ref.loc[ref[col] == 0.0, col] = np.nan
    return ref


def compare(ours: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    """Per-feature Pearson r and median relative difference over files."""
    rows = []
    for name in ref.columns:
        a, b = ours[name].to_numpy(float), ref[name].to_numpy(float)
        ok = np.isfinite(a) & np.isfinite(b)
        r = np.nan
        if ok.sum() >= 3 and np.std(a[ok]) > 0 and np.std(b[ok]) > 0:
            r = float(np.corrcoef(a[ok], b[ok])[0, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(a[ok] - b[ok]) / np.abs(b[ok])
        rel = rel[np.isfinite(rel)]
        rows.append(
            {
                "feature": name,
                "n": int(ok.sum()),
                "pearson_r": r,
                "median_rel_diff": float(np.median(rel)) if len(rel) else np.nan,
                "target": bool(TARGET_PATTERN.match(name)),
            }
        )
    return pd.DataFrame(rows)


def presentations(y: np.ndarray, sr: int) -> dict[str, tuple[np.ndarray, int]]:
    """The same recording presented differently, for ``--stability``.

    Upsampling 2x keeps the band-limited content and changes only the rate the tools see
    (soxr HQ, the resampler psymodal itself uses); the gain change is a quieter recording of
    the same speech.
    """
    import librosa

    return {
        "upsampled_2x": (
            librosa.resample(y, orig_sr=sr, target_sr=2 * sr, res_type="soxr_hq"),
            2 * sr,
        ),
        "gain_minus_10db": (y * 10.0 ** (-10.0 / 20.0), sr),
    }


def self_agreement(values: dict[str, list[dict]], names: list[str]) -> pd.DataFrame:
    """Pearson r of each tool with itself across presentations, one column per tool and
    presentation (e.g. ``openSMILE_self_r_upsampled_2x``), one row per feature.

    ``values[f"{tool}/{presentation}"]`` holds one feature dict per file, ``presentation``
    ``"native"`` being the reference presentation of that tool.
    """
    table = pd.DataFrame({"feature": names})
    for key in values:
        tool, presentation = key.split("/")
        if presentation == "native":
            continue
        native = pd.DataFrame(values[f"{tool}/native"])[names]
        other = pd.DataFrame(values[key])[names]
        if tool == "openSMILE":
            native, other = undefined_as_nan(native), undefined_as_nan(other)
        column = f"{tool}_self_r_{presentation}"
        table[column] = compare(other, native)["pearson_r"].to_numpy()
    return table


def with_reference_voicing(y: np.ndarray, sr: int, settings: dict, ref_f0: np.ndarray) -> dict:
    """psymodal's eGeMAPS functionals computed with openSMILE's voicing decisions.

    A diagnostic, not a feature set: it separates the agreement of our LLDs and functionals
    from the agreement of the two pitch trackers' voicing. ``ref_f0`` is openSMILE's
    ``F0semitoneFrom27.5Hz_sma3nz`` LLD (0 = unvoiced); its frame k spans 10k..10k+60 ms,
    i.e. it is centred on our grid frame k + 3. F0 values stay ours (the tracker's, or its
    first YIN candidate where it left the frame unvoiced).
    """
    from dataclasses import replace

    from psymodal.speech.egemaps import extract_egemaps
    from psymodal.speech.features import resolve_settings
    from psymodal.speech.prosody import track_pitch

    cfg = resolve_settings(settings, sr)
    hop = int(cfg["hop_length"])
    pitch = track_pitch(y, sr, int(cfg["frame_length"]), hop, cfg["pitch"])
    n = len(pitch.f0)
    voiced = np.zeros(n, dtype=bool)
    k = max(min(len(ref_f0), n - 3), 0)
    voiced[3 : 3 + k] = ref_f0[:k] > 0
    own = pitch.periodic_f0 if pitch.periodic_f0 is not None else pitch.f0
    fill = pitch.candidate if pitch.candidate is not None else np.full(n, np.nan)
    f0 = np.where(voiced, np.where(np.isfinite(own), own, fill), np.nan)
    feats, _ = extract_egemaps(y, sr, hop, replace(pitch, periodic_f0=f0), cfg["egemaps"], sr)
    return feats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-fsdd", type=int, default=100, help="FSDD files to include")
    parser.add_argument(
        "--fsdd-offset", type=int, default=0, help="shift of the FSDD sample (15: held out)"
    )
    parser.add_argument(
        "--reference-voicing",
        action="store_true",
        help="diagnostic: compute ours with openSMILE's voiced/unvoiced frames",
    )
    parser.add_argument(
        "--stability",
        action="store_true",
        help="also report each tool's agreement with itself on re-presented recordings",
    )
    parser.add_argument("--out", type=Path, help="write the per-feature table (TSV)")
    args = parser.parse_args(argv)

    found = speech_and_reference()
    if found is None:
        return 0
    speech, opensmile = found
    sys.path.insert(0, str(REPO / "src"))
    from psymodal.speech import extract_features, load_audio
    from psymodal.speech.egemaps import egemaps_names

    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02)
    lld = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.LowLevelDescriptors,
    )
    # Both extractors see the file at its own rate; the Nyquist policy is off so that 8 kHz
    # files are compared on every feature openSMILE computes.
    settings = {"egemaps": {"nyquist_policy": "keep"}}
    files = validation_files(speech, args.n_fsdd, args.fsdd_offset)
    ours_rows, ref_rows, groups = [], [], []
    stability: dict[str, list[dict]] = {}
    t0 = time.perf_counter()
    for path in files:
        y, sr = load_audio(path, sample_rate=None)
        if args.reference_voicing:
            ref_f0 = lld.process_signal(y.astype(np.float32), sr)
            ref_f0 = ref_f0["F0semitoneFrom27.5Hz_sma3nz"].to_numpy()
            feats = with_reference_voicing(y, sr, settings, ref_f0)
        else:
            feats = extract_features(y, sr, settings)
        ours_rows.append({k: feats[k] for k in egemaps_names()})
        ref = smile.process_signal(y.astype(np.float32), sr).iloc[0].to_dict()
        ref_rows.append(ref)
        if args.stability:
            own = extract_features(y, sr, settings) if args.reference_voicing else feats
            stability.setdefault("psymodal/native", []).append(own)
            stability.setdefault("openSMILE/native", []).append(ref)
            for name, (y_shown, sr_shown) in presentations(y, sr).items():
                shown = extract_features(y_shown, sr_shown, settings)
                stability.setdefault(f"psymodal/{name}", []).append(shown)
                shown_ref = smile.process_signal(y_shown.astype(np.float32), sr_shown).iloc[0]
                stability.setdefault(f"openSMILE/{name}", []).append(shown_ref.to_dict())
        groups.append(path.parent.name)
    ours, ref = pd.DataFrame(ours_rows), pd.DataFrame(ref_rows)[egemaps_names()]
    ref = undefined_as_nan(ref)
    groups = np.array(groups)
    counts = ", ".join(f"{g}: {int((groups == g).sum())}" for g in dict.fromkeys(groups))
    print(f"{len(files)} files ({counts}) in {time.perf_counter() - t0:.1f} s")

    table = compare(ours, ref)
    fsdd = groups == "fsdd"
    if fsdd.any() and (~fsdd).sum() >= 3:
        table["pearson_r_fsdd"] = compare(ours[fsdd], ref[fsdd])["pearson_r"]
        table["pearson_r_16k"] = compare(ours[~fsdd], ref[~fsdd])["pearson_r"]
    if stability:
        table = table.merge(self_agreement(stability, egemaps_names()), on="feature")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_rows", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    target = table[table["target"]]
    n_ok = int((target["pearson_r"] >= 0.9).sum())
    print(f"\ntarget features with r >= 0.9: {n_ok}/{len(target)}")
    print(f"median r over all 88: {table['pearson_r'].median():.3f}")
    if stability:
        print("\nopenSMILE's and psymodal's agreement with themselves (targets with r >= 0.9):")
        for column in [c for c in table.columns if "_self_r_" in c]:
            ok = int((table.loc[table["target"], column] >= 0.9).sum())
            median = table[column].median()
            print(f"  {column}: {ok}/{len(target)}, median over all 88 {median:.3f}")
        missed = target[target["pearson_r"] < 0.9]
        if len(missed):
            print("\ntargets missed against openSMILE, beside the tools' self-agreement:")
            missed = missed.drop(columns=["target"])
            print(missed.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.out:
        table.to_csv(args.out, sep="\t", index=False, float_format="%.4f")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
