"""Blob stores for generated media."""
