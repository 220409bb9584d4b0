"""Stands in for interviewai.container."""
