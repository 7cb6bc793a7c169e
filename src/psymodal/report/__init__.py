"""Report figures and pages: metrics, ROC, QC summaries, connectome plots, QC galleries."""
