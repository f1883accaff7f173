# Meetings, quotas, registrations, tickets and live sessions arrive with the meetings issue.
