"""Sampling: trained checkpoints -> event files (the engine of `genesis sample`)."""
