"""A tiny package shaped like interviewai, each file breaking one layering rule on purpose."""
