"""The project inventory: AI projects and the teams that own them (services, selectors, forms, filters)."""
