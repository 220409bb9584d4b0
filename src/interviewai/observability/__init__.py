"""Operating the service: Prometheus metrics, structured logs with request ids, optional tracing."""
