"""Provenance of a run: the manifest (checksums, versions, config, seeds) and its audit."""
