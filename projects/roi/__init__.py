"""The ROI ledger: figure definitions (figures.py), file import (importer.py), services, selectors,
forms and filters."""
