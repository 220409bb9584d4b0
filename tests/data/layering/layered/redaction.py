"""Stands in for interviewai.redaction."""
