"""Every write of the meetings app, one module per area: registrations (quotas, seats, tickets), checkins,
photos, surveys, evidence. Import from the module: `from events.services.checkins import checkin_perform`."""
