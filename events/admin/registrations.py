"""Admin hooks: registrations."""
