"""The ``learn`` section of the configuration, resolved through :mod:`psymodal.settings`.

The workflow passes ``config["learn"]``; every key left out takes its default from the schema
(``psymodal/settings/config.schema.yaml``), so the stage runs on ``{}``. The effective settings
are written next to the results (``run_info.json``), so a table can always be traced back to
what produced it.
"""

from __future__ import annotations

from collections.abc import Mapping

from psymodal.settings import defaults, resolve_section

#: Allowed values of ``learn.transforms`` (None: no transform).
TRANSFORMS = ("tangent", None)

#: Models each ``learn.task`` accepts.
TASK_MODELS = {
    "classification": ("logistic", "svm", "hgb", "dp_logistic"),
    "regression": ("ridge", "svr", "hgb"),
    # a linear SVM's margin gives no class probabilities to average, nor does the DP model
    "multiclass": ("logistic", "hgb"),
}

#: Every default of the ``learn`` section (from the schema, the one place they are written).
DEFAULTS: dict = defaults("learn")


def resolve(settings: Mapping | None) -> dict:
    """Return the defaults updated (recursively) with ``settings``.

    Parameters
    ----------
    settings : mapping or None
        The ``learn`` section of the workflow configuration; ``None`` means all defaults.

    Returns
    -------
    dict
        A new dictionary; the input is not modified.

    Raises
    ------
    psymodal.settings.SettingsError
        For an unknown key (with the nearest valid one) or an invalid value.
    """
    settings = dict(settings or {})
    for key in ("models", "fusion", "confounds", "categorical_confounds"):
        if isinstance(settings.get(key), str):
            settings[key] = [settings[key]]
    transforms = settings.get("transforms") or {}
    if not isinstance(transforms, Mapping):
        raise ValueError("learn.transforms must map modality -> transform (e.g. {mri: tangent})")
    bad = {m: v for m, v in transforms.items() if v not in TRANSFORMS}
    if bad:
        raise ValueError(f"unknown learn.transforms {bad}; choose from {list(TRANSFORMS)}")
    s = resolve_section("learn", {**settings, "transforms": dict(transforms)})
    allowed = TASK_MODELS[s["task"]]
    wrong = [m for m in s["models"] if m not in allowed]
    if wrong:
        raise ValueError(
            f"learn.models {wrong} do not fit learn.task: {s['task']}; choose from {list(allowed)}"
        )
    if s["task"] != "classification" and "intermediate" in s["fusion"]:
        raise ValueError(
            f"learn.fusion: intermediate (torch network) classifies two classes only, not "
            f"learn.task: {s['task']}"
        )
    if s["task"] != "classification" and s["explain"]["enabled"]:
        raise ValueError(
            f"learn.explain scores binary classifiers only, not learn.task: {s['task']}: "
            "set explain.enabled false"
        )
    if s["task"] == "multiclass" and s["save_model"]:
        raise ValueError("learn.save_model: multiclass models cannot be saved yet")
    return s
