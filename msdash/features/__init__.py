"""Feature extractors: classical descriptors, foundation models and helpers for volumes and patches."""
