"""The settings layer: the configuration schema (every key, type and default) and its reader."""
