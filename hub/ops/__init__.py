"""Running the hub: setting it up (`bootstrap`), readiness checks (`health`), Prometheus
instruments (`metrics`), request limits (`limits`),
structured logs with request ids (`logging`)."""

__all__ = ["bootstrap", "health", "limits", "logging", "metrics"]
