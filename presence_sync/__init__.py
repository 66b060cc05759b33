"""Presence Sync: keeps presence consistent between Microsoft Teams and RingCentral."""

__all__ = ["__version__"]

__version__ = "0.1.0"
