"""The api layer of the fixture."""
