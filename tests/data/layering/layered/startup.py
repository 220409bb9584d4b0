"""Stands in for interviewai.startup."""
