"""Adapters the answer evaluators use."""
