"""Admin hooks: evidence."""
