"""notifications: no tables of its own. Reminders are scheduling.Reminder rows; this app
renders and delivers them (email through Django's backends, SMS through SMS_BACKEND)."""
