"""The executive portfolio dashboard: its figures, its charts and the value-decay rule behind its findings."""
