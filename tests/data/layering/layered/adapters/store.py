"""Breaks "adapters-on-domain": an adapter reads the settings."""

from layered import settings  # noqa: F401
