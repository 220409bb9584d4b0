"""Stands in for interviewai.deadlines."""
