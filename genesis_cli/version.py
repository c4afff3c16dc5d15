"""The GENESIS version: a leaf module, so engine code can name the version without importing the package root."""

__version__ = "0.1.0"
