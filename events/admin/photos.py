"""Admin hooks: photos."""
