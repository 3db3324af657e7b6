"""The incident register (EU AI Act Art. 73 serious incidents, and ordinary ones)."""
