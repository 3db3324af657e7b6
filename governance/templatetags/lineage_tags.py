"""{% lineage_queue %}: the one line that says how far the lineage graph is behind (pages that show lineage)."""

from django import template

from ..lineage.queue import queue_status

register = template.Library()


@register.inclusion_tag("governance/partials/lineage_queue.html")
def lineage_queue() -> dict:
    return {"lineage_queue": queue_status()}
