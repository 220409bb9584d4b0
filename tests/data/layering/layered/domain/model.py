"""Breaks "layers" and "domain-pure": the domain reaches up into a service."""

from layered.services import use_case  # noqa: F401
