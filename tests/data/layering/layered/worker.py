"""Stands in for interviewai.worker."""
