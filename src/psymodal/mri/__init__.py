"""MRI stage: atlases, confounds, parcellated time series, connectomes, QC."""
