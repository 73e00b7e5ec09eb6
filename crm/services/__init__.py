"""Domain services: functions over a session, with keyword-only arguments; they never commit."""
