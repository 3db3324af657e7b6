// Mounts every plotly chart on the page. A chart is an element with data-chart="<id>", where <id> is
// the json_script element holding {"data": [...], "layout": {...}} (built by a sub-domain's charts.py,
// e.g. governance/dashboard/charts.py).
// A chart with data-click-x / data-click-y is a filter: clicking a point reloads the page with those
// query parameters set to the point's x and y (and data-click-set's parameters), keeping the others.
// A chart with data-click-url="<n>" is a set of links: clicking a point opens the page whose path is
// the point's customdata[n] (same-site paths only).
(function () {
  "use strict";

  const CONFIG = { displayModeBar: false, responsive: true };

  function filterOnClick(element) {
    const { clickX, clickY, clickSet, clickAnchor } = element.dataset;
    if (!clickX || !clickY) return;
    element.classList.add("is-clickable");
    element.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      if (!point) return;
      const url = new URL(window.location.href);
      url.searchParams.set(clickX, point.x);
      url.searchParams.set(clickY, point.y);
      for (const [name, value] of new URLSearchParams(clickSet || "")) url.searchParams.set(name, value);
      url.searchParams.delete("page");
      url.hash = clickAnchor || "";
      window.location.assign(url.toString());
    });
  }

  function openOnClick(element) {
    const index = element.dataset.clickUrl;
    if (index === undefined) return;
    element.classList.add("is-clickable");
    element.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      const path = point && point.customdata && point.customdata[Number(index)];
      if (typeof path !== "string" || !path.startsWith("/") || path.startsWith("//")) return;
      window.location.assign(path);
    });
  }

  function mount(element) {
    const source = document.getElementById(element.dataset.chart);
    if (!source || typeof window.Plotly === "undefined") return;
    const figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(element, figure.data, figure.layout, CONFIG).then(() => {
      element.dataset.mounted = "true";
      filterOnClick(element);
      openOnClick(element);
    });
  }

  document.querySelectorAll("[data-chart]").forEach(mount);
})();
