"""mlops-platform library and CLI."""

__version__ = "0.1.0"
