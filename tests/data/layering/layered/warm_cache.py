"""Stands in for interviewai.warm_cache."""
