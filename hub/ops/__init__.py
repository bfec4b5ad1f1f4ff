"""Running the hub: readiness checks (`health`), Prometheus instruments (`metrics`),
structured logs with request ids (`logging`)."""

__all__ = ["health", "logging", "metrics"]
