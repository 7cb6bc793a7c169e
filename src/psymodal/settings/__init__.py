"""The settings layer: one schema holds every key, type, default and description.

``config.schema.yaml`` (next to this module; ``workflow/schemas/config.schema.yaml`` links to
it) is the only place a default is written. Everything that reads settings (the Snakefile, the
command line, the stage functions of the library, the audit) goes through here:

- :func:`resolve_config` checks a whole configuration: an unknown key anywhere is an error that
  names it and the nearest valid key; then every default is filled and the types are validated.
- :func:`resolve_section` does the same for one section (``mri``, ``speech``, ``learn``...),
  for library calls that are given only that section.
- :func:`defaults` returns the defaults of a section, for module constants derived from them.
- :class:`Settings` is a read-only, attribute-access view of resolved settings.

The effective settings (every default filled) are what provenance records.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

__all__ = [
    "SCHEMA_FILE",
    "Settings",
    "SettingsError",
    "defaults",
    "resolve_config",
    "resolve_section",
    "schema",
]

SCHEMA_FILE = "config.schema.yaml"

_MISSING = object()


class SettingsError(ValueError):
    """A configuration that cannot be used: an unknown key, a wrong type or value."""


@functools.cache
def _schema() -> dict:
    import yaml

    text = resources.files(__name__).joinpath(SCHEMA_FILE).read_text()
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def schema() -> dict:
    """The configuration schema (a JSON Schema, draft 2020-12) as a new dictionary."""
    return copy.deepcopy(_schema())


def _node(path: str) -> dict:
    node = _schema()
    for part in filter(None, path.split(".")):
        try:
            node = node["properties"][part]
        except KeyError:
            raise KeyError(f"the settings schema has no section {path!r}") from None
    return node


def _is_object(node: Mapping) -> bool:
    return "properties" in node


def _fill(value: Any, node: Mapping, all_defaults: bool = False) -> Any:
    """``value`` with the defaults of ``node`` filled in (``_MISSING``: nothing given)."""
    if not _is_object(node) or not (value is _MISSING or isinstance(value, Mapping)):
        if value is _MISSING:
            return copy.deepcopy(node.get("default"))
        return copy.deepcopy(value)
    if node.get("x-keep-given") and not all_defaults:
        given = node.get("default", {}) if value is _MISSING else value
        return copy.deepcopy(dict(given))
    given = {} if value is _MISSING else value
    out = {}
    for key, child in node["properties"].items():
        if key in given:
            out[key] = _fill(given[key], child, all_defaults)
        elif "default" in child or _is_object(child):
            out[key] = _fill(_MISSING, child, all_defaults)
    for key, item in given.items():  # keys of open mappings (learn.transforms...)
        if key not in out:
            out[key] = copy.deepcopy(item)
    return out


def defaults(path: str = "", include_preset_base: bool = False) -> dict:
    """The defaults of a section of the configuration, e.g. ``defaults("speech.pitch")``.

    Parameters
    ----------
    path : str
        Dotted section name; ``""`` is the whole configuration.
    include_preset_base : bool
        For a section whose given keys override a preset (``mri.confounds``), return every
        key's default (the base under the preset) instead of what is stored when nothing is
        given.

    Returns
    -------
    dict
        A new dictionary.
    """
    return _fill(_MISSING, _node(path), all_defaults=include_preset_base)


def _unknown_keys(value: Any, node: Mapping, where: str) -> list[str]:
    """One message per unknown key in ``value``, with the nearest valid key."""
    if not isinstance(value, Mapping) or not _is_object(node):
        return []
    messages = []
    known = node["properties"]
    closed = node.get("additionalProperties", True) is False
    for key, item in value.items():
        name = f"{where}.{key}" if where else str(key)
        if key in known:
            messages += _unknown_keys(item, known[key], name)
            continue
        if not closed:
            continue
        import difflib

        near = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
        if near:
            hint = f"did you mean `{where + '.' if where else ''}{near[0]}`?"
        else:
            hint = f"valid keys{' of ' + where if where else ''}: {', '.join(sorted(known))}"
        messages.append(f"`{name}`: unknown key; {hint}")
    return messages


@functools.cache
def _validator(path: str):
    import jsonschema

    return jsonschema.Draft202012Validator(_node(path))


def _validate(value: Any, path: str, where: str) -> None:
    validator = _validator(path)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        at = ".".join([where] * bool(where) + [str(p) for p in error.absolute_path])
        raise SettingsError(f"`{at or 'config'}`: {error.message}")


def _resolve(value: Any, path: str, where: str) -> Any:
    try:
        key = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):  # not plain data (paths...): not cached
        return _resolve_uncached(value, path, where)
    return copy.deepcopy(_resolve_cached(key, path, where))


@functools.lru_cache(maxsize=256)
def _resolve_cached(key: str, path: str, where: str) -> Any:
    # stage functions resolve the same section for every subject: validated once
    return _resolve_uncached(json.loads(key), path, where)


def _resolve_uncached(value: Any, path: str, where: str) -> Any:
    node = _node(path)
    unknown = _unknown_keys(value, node, where)
    if unknown:
        raise SettingsError(unknown[0] + (f" (and {len(unknown) - 1} more)" * (len(unknown) > 1)))
    filled = _fill(_MISSING if value is None else value, node)
    _validate(filled, path, where)
    return filled


def resolve_config(config: Mapping | None) -> dict:
    """Check a whole configuration and fill every default.

    Parameters
    ----------
    config : mapping or None
        The workflow configuration (``config/config.yaml``); ``None`` is all defaults.

    Returns
    -------
    dict
        The effective configuration: plain dictionaries and lists, every default filled.
        A key left out whose schema node has ``x-default-when`` takes that default when the
        named setting has the stated value (``learn.transforms`` is ``{mri: tangent}`` with
        ``mri.connectivity: tangent``). Resolving it again gives the same dictionary.

    Raises
    ------
    SettingsError
        With a one-line message naming the first unknown key (and the nearest valid one) or
        the first invalid value, or two settings that cannot work together.
    """
    resolved = _resolve(config, "", "")
    _apply_conditional_defaults(config, resolved)
    _check_coherent(resolved)
    return resolved


@functools.cache
def _conditional_defaults() -> tuple[tuple[str, str, Any, Any], ...]:
    """``(path, setting, equals, default)`` of every ``x-default-when`` of the schema."""
    found = []

    def walk(node: Mapping, path: str) -> None:
        rule = node.get("x-default-when")
        if rule:
            found.append((path, rule["setting"], rule["equals"], rule["default"]))
        for key, child in node.get("properties", {}).items():
            walk(child, f"{path}.{key}" if path else key)

    walk(_schema(), "")
    return tuple(found)


def _lookup(config: Any, path: str) -> Any:
    """The value at dotted ``path`` of ``config``, ``_MISSING`` where a key is absent."""
    for part in path.split("."):
        if not isinstance(config, Mapping) or part not in config:
            return _MISSING
        config = config[part]
    return config


def _apply_conditional_defaults(given: Mapping | None, resolved: dict) -> None:
    """Replace the default of a key the user left out by its ``x-default-when`` default when
    the condition holds in ``resolved`` (in place). Resolving the result again keeps it,
    since the key is then given."""
    for path, setting, equals, default in _conditional_defaults():
        if _lookup(given, path) is _MISSING and _lookup(resolved, setting) == equals:
            *parents, key = path.split(".")
            node = resolved
            for part in parents:
                node = node[part]
            node[key] = copy.deepcopy(default)


def _check_coherent(resolved: dict) -> None:
    """Settings of two sections that cannot work together (each valid on its own)."""
    connectivity = resolved["mri"]["connectivity"]
    if resolved["learn"]["transforms"].get("mri") == "tangent" and connectivity != "tangent":
        # the in-fold tangent projection needs covariances with their diagonal
        raise SettingsError(
            f"`learn.transforms.mri`: tangent needs mri.connectivity: tangent (covariances), "
            f"not {connectivity!r}; leave learn.transforms out to learn from the "
            f"{connectivity} features as they are"
        )


def resolve_section(section: str, settings: Mapping | None) -> dict:
    """Check one section (``"mri"``, ``"speech.pitch"``...) and fill its defaults.

    Library functions that are given one section call this, so that a misspelt key fails the
    same way in a script as in the workflow.
    """
    return _resolve(settings, section, section)


class Settings(Mapping):
    """A read-only view of resolved settings with attribute access.

    ``Settings.from_config(config).learn.cv.folds`` is the effective number of folds; a key the
    schema does not know raises :class:`AttributeError`. ``to_dict()`` gives plain data.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping):
        object.__setattr__(self, "_data", data)

    @classmethod
    def from_config(cls, config: Mapping | None) -> Settings:
        """Resolve ``config`` (see :func:`resolve_config`) and wrap it."""
        return cls(resolve_config(config))

    def __getitem__(self, key):
        value = self._data[key]
        return Settings(value) if isinstance(value, Mapping) else copy.deepcopy(value)

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"no setting {key!r}; known: {', '.join(self._data)}") from None

    def __setattr__(self, key, value):
        raise AttributeError("settings are read-only; change the configuration instead")

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __repr__(self):
        return f"Settings({self._data!r})"

    def to_dict(self) -> dict:
        """The settings as plain, new dictionaries."""
        return copy.deepcopy(dict(self._data))
