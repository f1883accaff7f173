"""Admin hooks: surveys."""
