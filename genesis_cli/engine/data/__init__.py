"""Event files: reading and validation, writing, preprocessing, splits, loading and inspection."""
