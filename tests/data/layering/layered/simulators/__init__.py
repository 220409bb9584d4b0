"""The simulators layer of the fixture."""
