"""Stands in for interviewai.connection_guard."""
