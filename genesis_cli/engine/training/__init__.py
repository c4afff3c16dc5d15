"""Training: the loop (trainer.py), LR schedules, early stopping, checkpoints, run records."""
