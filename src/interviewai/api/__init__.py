"""HTTP edge: routes, request/response schemas and the one place errors become responses."""
