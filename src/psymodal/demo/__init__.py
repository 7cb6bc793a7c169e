"""Embedded demo study: a deterministic synthetic BIDS dataset with planted effects."""
