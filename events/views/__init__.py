"""Site views of the meetings app, one module per area (registrations, checkin, photos, surveys, evidence)."""
