"""Files that are never half-written: atomic tables, JSON and figures."""
