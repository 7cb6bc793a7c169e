"""psymodal: reproducible multimodal psychiatric classification (fMRI + speech)."""

__version__ = "0.1.0"
