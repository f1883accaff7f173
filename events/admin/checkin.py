"""Admin hooks: checkin."""
