"""The observability layer of the fixture."""
