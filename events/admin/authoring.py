"""Admin hooks: authoring."""
