"""Running the hub: setting it up (`bootstrap`), readiness checks (`health`), Prometheus
instruments (`metrics`), request limits (`limits`),
structured logs with request ids (`logging`), what the commands share at the
terminal (`terminal`)."""

__all__ = ["bootstrap", "health", "limits", "logging", "metrics", "terminal"]
