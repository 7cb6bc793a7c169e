"""The effective configuration of a run, written as YAML with sorted keys."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from psymodal.io.tables import atomic_write


def plain_config(config: Mapping) -> dict:
    """``config`` as plain JSON types (paths and other objects become strings)."""
    return json.loads(json.dumps(dict(config), sort_keys=True, default=str))


def config_yaml(config: Mapping) -> str:
    """``config`` as YAML text with sorted keys (equal configurations give equal text)."""
    import yaml

    return yaml.safe_dump(plain_config(config), sort_keys=True, default_flow_style=False)


def write_config_yaml(config: Mapping, path: str | os.PathLike, overwrite: bool = True) -> Path:
    """Write ``config`` as YAML with sorted keys, unless ``path`` already records it.

    A file holding the same configuration is left untouched (its modification time too), so
    a copy recorded by another workflow rule does not look changed to Snakemake.

    Parameters
    ----------
    config : mapping
    path : path-like
    overwrite : bool
        Replace a file that records another configuration; when False, that is an error.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        When ``path`` records another configuration and ``overwrite`` is False.
    """
    import yaml

    path = Path(path)
    if path.is_file():
        if yaml.safe_load(path.read_text()) == plain_config(config):
            return path
        if not overwrite:
            raise ValueError(
                f"{path} records another configuration than the one given: "
                "pass the run's effective configuration (or that file itself)"
            )
    text = config_yaml(config)
    return atomic_write(path, lambda tmp: tmp.write_text(text))
