"""The services layer of the fixture."""
