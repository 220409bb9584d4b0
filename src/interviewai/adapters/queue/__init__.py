"""Job queues for background media work."""
