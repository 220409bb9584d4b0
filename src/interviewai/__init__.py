"""InterviewAI backend: AI mock interviews with neural speech and a talking presenter."""

__version__ = "0.2.0"
