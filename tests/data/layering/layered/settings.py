"""Stands in for interviewai.settings."""
