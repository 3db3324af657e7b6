"""Links from a page to a registry's own pages of a model version and its run (projects/registries/links.py).

Filters, so a template can write `{{ v|registry_version_url }}` on versions it already holds, with their
model and registry loaded (no query per link)."""

from __future__ import annotations

from django import template

from ..registries import links

register = template.Library()


@register.filter
def registry_version_url(version) -> str:
    return links.version_url(version)


@register.filter
def registry_run_url(version) -> str:
    return links.run_url(version)
