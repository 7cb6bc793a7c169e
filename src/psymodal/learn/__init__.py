"""Learning stage: feature assembly, leakage-free cross-validation, metrics."""
