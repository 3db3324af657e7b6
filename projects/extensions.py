"""What other apps contribute to projects' pages: tabs of a project and fragments of the home and project
pages. Governance fills it from its AppConfig.ready() (governance/extensions.py), so projects' templates
show governance's pages without naming a governance URL: the one-way rule holds in templates too.

A tab is a URL name reversed with the project's slug; a widget is a template included, with the page's
context, in one named slot of a page. Both are shown in `order`, then in the order registered.
"""

from __future__ import annotations

from dataclasses import dataclass

# The slots projects' pages offer to widgets.
HOME_TOP = "home:top"  # the home page, above the team lead's ROI and the lifecycle stages
HOME_STAGES = "home:stages"  # under the lifecycle stage strip of the home page
PROJECT_FACTS = "project:facts"  # rows (<dt>/<dd>) at the end of a project page's "Facts" list
PROJECT_FOOTER = "project:footer"  # the foot of a project page
SLOTS = (HOME_TOP, HOME_STAGES, PROJECT_FACTS, PROJECT_FOOTER)


@dataclass(frozen=True)
class ProjectTab:
    """One tab of a project's pages: `url_name` takes the project's slug; `current` lists the URL names
    (without namespace) of the pages on which this tab is the one shown as current."""

    label: str
    url_name: str
    current: tuple[str, ...]
    order: int


@dataclass(frozen=True)
class Widget:
    """A template included in one slot of a page, rendered with that page's context."""

    slot: str
    template: str
    order: int


_tabs: dict[str, ProjectTab] = {}
_widgets: dict[tuple[str, str], Widget] = {}


def register_project_tab(label: str, url_name: str, *, current: tuple[str, ...] = (), order: int = 100) -> None:
    """Add a tab to every project page (registering a URL name again replaces its tab)."""
    _tabs[url_name] = ProjectTab(label=label, url_name=url_name, current=current, order=order)


def register_widget(slot: str, template: str, *, order: int = 100) -> None:
    """Include `template` in `slot` (registering the same template in a slot again replaces it)."""
    if slot not in SLOTS:
        raise ValueError(f"Unknown slot {slot!r}; slots: {', '.join(SLOTS)}")
    _widgets[(slot, template)] = Widget(slot=slot, template=template, order=order)


def register_home_widget(template: str, *, slot: str = HOME_TOP, order: int = 100) -> None:
    """A fragment of the home page ("/"); the slot says where on it."""
    register_widget(slot, template, order=order)


def register_project_widget(template: str, *, slot: str = PROJECT_FOOTER, order: int = 100) -> None:
    """A fragment of a project's page; the slot says where on it."""
    register_widget(slot, template, order=order)


def project_tabs() -> list[ProjectTab]:
    return sorted(_tabs.values(), key=lambda tab: tab.order)


def widgets(slot: str) -> list[str]:
    """The templates of a slot, in order."""
    return [w.template for w in sorted((w for w in _widgets.values() if w.slot == slot), key=lambda w: w.order)]


# Projects' own tabs; other apps' tabs sit between them by their order.
register_project_tab("Overview", "projects:detail", current=("detail",), order=0)
register_project_tab("ROI", "projects:roi", current=("roi", "roi-import"), order=30)
