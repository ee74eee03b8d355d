"""Model format converters written for livepose (no third-party converter is used)."""
