"""Announcements and personal messages (NTC)."""
