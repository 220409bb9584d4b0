"""The domain layer of the fixture."""
