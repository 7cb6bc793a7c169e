"""Where the anonymisation stage reads its key and writes the shareable copy."""

from __future__ import annotations

from pathlib import Path

__all__ = ["key_file", "shareable_dir", "shared_features_dir", "study_files"]


def shareable_dir(config: dict) -> Path:
    """``anonymize.out_dir``, else ``<results_dir>/shareable``."""
    chosen = config["anonymize"]["out_dir"]
    return Path(chosen) if chosen else Path(config["results_dir"]) / "shareable"


def shared_features_dir(config: dict) -> Path:
    """``<results_dir>/shareable_features``: the feature tables of ``snakemake share``."""
    return Path(config["results_dir"]) / "shareable_features"


def key_file(config: dict) -> Path:
    """The pseudonym key: ``anonymize.key_file``, or for the demo a key derived from its seed
    next to the demo study (``<bids_dir>.pseudonym.key``).

    Raises
    ------
    ValueError
        No key configured for a real study, or a key inside the results (which may be copied
        or shared whole).
    """
    chosen = config["anonymize"]["key_file"]
    if chosen is None:
        if config["dataset"]["source"] != "demo":
            raise ValueError(
                "anonymize.key_file: a real study needs a pseudonym key kept outside results "
                "(create one with `psymodal pseudonym-key PATH`)"
            )
        bids = Path(config["dataset"]["bids_dir"])
        return bids.parent / f"{bids.name}.pseudonym.key"
    path = Path(chosen)
    results = Path(config["results_dir"]).resolve()
    if path.resolve() == results or results in path.resolve().parents:
        raise ValueError(f"anonymize.key_file: {path} lies inside results_dir; keep it outside")
    return path


def study_files(bids_dir) -> list[Path]:
    """Every file in the study's subject folders (the anonymisation's inputs)."""
    return sorted(p for p in Path(bids_dir).glob("sub-*/**/*") if p.is_file())
