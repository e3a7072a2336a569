"""Policy announcements and acceptances (O14)."""
