"""plotly.js served from our own static files, taken from the installed plotly package: no CDN (the CSP
allows scripts from 'self' only) and no copy in the repository to fall out of step with the package."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage


class PlotlyJsFinder(finders.BaseFinder):
    """Finds one file, `vendor/plotly/plotly.min.js`, in plotly's package data, and nothing else the
    package ships (its widget bundle and datasets would only weigh down collectstatic)."""

    prefix = "vendor/plotly"
    filename = "plotly.min.js"

    def __init__(self, *args, **kwargs):
        import plotly

        self.location = Path(plotly.__file__).resolve().parent / "package_data"
        self.storage = FileSystemStorage(location=self.location)
        self.storage.prefix = self.prefix  # collectstatic and whitenoise put the file under this prefix

    def check(self, **kwargs):
        if not (self.location / self.filename).is_file():
            return [Error(f"plotly.js not found at {self.location / self.filename}", id="keel.E001")]
        return []

    def find(self, path, find_all=False, **kwargs):
        find_all = self._check_deprecated_find_param(find_all=find_all, **kwargs)
        if path == f"{self.prefix}/{self.filename}":
            match = str(self.location / self.filename)
            finders.searched_locations.append(str(self.location))
            return [match] if find_all else match
        return [] if find_all else None

    def list(self, ignore_patterns):
        yield self.filename, self.storage
