"""Converting events between GENESIS's HDF5 and other tools' formats: GraphNeT SQLite and Parquet,
Prometheus Parquet (pulses.py holds what the pulse-table routes share)."""
