"""Stands in for interviewai.cli."""
