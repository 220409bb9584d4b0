"""Stands in for interviewai.app."""
