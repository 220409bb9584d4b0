"""Breaks "api-no-adapters": a route opens an adapter itself."""

from layered.adapters import store  # noqa: F401
