# Patients, consents, medication plans and dose events arrive with the reminders issue.
