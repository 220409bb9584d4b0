"""Use cases: run interviews and deliver the media for each question."""
