"""Stands in for interviewai.cli_doctor."""
