"""Training: one resumable loop (:mod:`dmc.train.loop`) and a recipe per model, run as ``python -m dmc.train``."""
