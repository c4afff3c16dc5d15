"""``genesis distill``: few-step students of trained runs (consistency distillation, guidance folded in)."""
