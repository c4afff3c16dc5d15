"""Converting events between GENESIS's HDF5 and other tools' formats (GraphNeT SQLite so far)."""
