"""Stands in for interviewai.background."""
