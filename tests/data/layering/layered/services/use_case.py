"""Breaks "simulators-apart" and "services-no-adapters": a service starts a simulator and opens an adapter."""

from layered.adapters import store  # noqa: F401
from layered.simulators import fake  # noqa: F401
