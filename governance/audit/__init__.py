"""The hash-chained, append-only audit trail: its writer, its database triggers and its reads."""
