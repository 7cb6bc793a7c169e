"""The ``mri`` section of the configuration, resolved through :mod:`psymodal.settings`.

Every stage function fills missing keys with :func:`fill_settings`, so a config that only
names what it changes is complete. The defaults live in the schema, nowhere else.
"""

from __future__ import annotations

from psymodal.settings import defaults, resolve_section

#: Every default of the ``mri`` section (from the schema).
DEFAULTS = defaults("mri")


def fill_settings(settings: dict | None) -> dict:
    """Return ``settings`` checked against the schema with every missing key set to its default.

    Nested sections (``atlas``, ``qc``...) are merged key by key; for ``confounds`` only the
    keys the user gave are kept, as overrides of the chosen preset (see
    :mod:`psymodal.mri.confounds`). Filling filled settings changes nothing.

    Raises
    ------
    psymodal.settings.SettingsError
        For an unknown key (with the nearest valid one) or an invalid value.
    """
    return resolve_section("mri", settings)
