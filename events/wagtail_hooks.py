# Each module registers its own hooks, snippets and views when imported.
from events.admin import authoring, checkin, evidence, photos, registrations, surveys  # noqa: F401
