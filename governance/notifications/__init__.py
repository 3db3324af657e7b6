"""Notifications: in Keel, by e-mail and to chat channels; preferences, reminders, digests, the delivery log."""
