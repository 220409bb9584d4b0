"""Stands in for interviewai.providers."""
