// The supervisors' page: headline tiles, plotly.js charts and the failure clusters, from the
// desk's /api/supervisor/* routes or, in the static report, from the figures embedded in the
// page. Everything from the server is put on the page with textContent, never as HTML.
"use strict";

(() => {
  const REASONS = {
    customer_request: "asked for a person",
    repeated_fallback: "not understood three times",
    policy: "policy",
    backend_outage: "back end down",
  };
  const OUTCOMES = {
    fallback: "not understood",
    out_of_scope: "out of scope",
    abandoned: "gave up",
    handoff: "handed over",
  };
  const COLOURS = {
    sessions: "#c7cfdc",
    selfService: "#1d5bd8",
    fcr: "#7a5af8",
    csat: "#2f9e6b",
    escalation: "#d9822b",
    ratings: ["#b42318", "#e0632d", "#e3b341", "#7cbf73", "#2f9e6b"],
  };
  const SHOWN_EXAMPLES = 3;
  const PLOT_CONFIG = { displayModeBar: false, responsive: true };
  const BASE_LAYOUT = {
    font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12 },
    margin: { l: 48, r: 48, t: 8, b: 40 },
    paper_bgcolor: "#fff",
    plot_bgcolor: "#fff",
    legend: { orientation: "h", y: -0.18 },
    bargap: 0.25,
  };
  const $ = (id) => document.getElementById(id);
  const embedded = $("report-data");

  // --- small helpers ---------------------------------------------------------------------

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  const known = (value) => value !== null && value !== undefined;
  const percent = (value) => (known(value) ? `${(value * 100).toFixed(1)}%` : "–");
  const toPercent = (values) => values.map((value) => (known(value) ? value * 100 : null));
  const words = (name) => String(name).replaceAll("_", " ").replace(":", " · ");

  function flash(message) {
    const node = $("flash");
    node.textContent = message || "";
    node.hidden = !message;
  }

  async function getJson(path) {
    const response = await fetch(path, { credentials: "same-origin" });
    if (response.status === 401) {
      window.location.assign("/console/supervisor");
      throw new Error("signed out");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
    return body;
  }

  // --- tiles -------------------------------------------------------------------------------

  function tile(key, value, note) {
    $(`tile-${key}`).textContent = value;
    $(`tile-${key}-note`).textContent = note || "";
  }

  function drawTiles(kpis) {
    const satisfaction = kpis.satisfaction || {};
    const escalation = kpis.escalation || {};
    const reasons = Object.entries(escalation.reasons || {}).filter(([, count]) => count > 0);
    reasons.sort((a, b) => b[1] - a[1]);
    tile("self-service", percent(kpis.self_service_rate), "resolved with no person");
    tile("fcr", percent(kpis.first_contact_resolution_rate), "resolved, did not come back");
    tile(
      "csat",
      percent(satisfaction.csat),
      satisfaction.asked
        ? `${percent(satisfaction.response_rate)} answered (${satisfaction.responses} of ` +
            `${satisfaction.asked})` +
            (known(satisfaction.average) ? ` · average ${satisfaction.average.toFixed(1)}` : "")
        : "no rating asked",
    );
    tile(
      "escalation",
      percent(escalation.rate),
      reasons.length ? `most: ${REASONS[reasons[0][0]] || words(reasons[0][0])}` : "",
    );
    tile("fallback", percent(kpis.fallback_rate), `clarified ${percent(kpis.clarification_rate)}`);
    tile("sessions", String(kpis.sessions ?? 0), `out of scope ${percent(kpis.out_of_scope_rate)}`);
  }

  function describePeriod(kpis) {
    const period = kpis.period || {};
    const filters = kpis.filters || {};
    const span = period.start || period.end ? `${period.start || "…"} to ${period.end || "…"}` : "all time";
    $("period").textContent =
      `${span} · ${filters.line ? `line ${filters.line}` : "every line"} · ` +
      `${filters.channel ? `channel ${filters.channel}` : "every channel"}`;
  }

  // --- charts ------------------------------------------------------------------------------

  function plot(key, traces, layout) {
    const node = $(`chart-${key}`);
    const note = node.querySelector(".empty");
    if (note) note.remove();
    Plotly.react(node, traces, { ...BASE_LAYOUT, ...layout }, PLOT_CONFIG);
  }

  function nothing(key, message) {
    const node = $(`chart-${key}`);
    Plotly.purge(node);
    node.replaceChildren(el("p", message, "empty"));
  }

  function drawTrend(trend) {
    if (!trend.length) return nothing("trend", "No sessions in this period.");
    const dates = trend.map((day) => day.date);
    plot(
      "trend",
      [
        {
          type: "bar",
          name: "sessions",
          x: dates,
          y: trend.map((day) => day.sessions),
          yaxis: "y2",
          marker: { color: COLOURS.sessions },
        },
        {
          type: "scatter",
          mode: "lines+markers",
          name: "self-service %",
          x: dates,
          y: toPercent(trend.map((day) => day.self_service_rate)),
          line: { color: COLOURS.selfService },
        },
        {
          type: "scatter",
          mode: "lines+markers",
          name: "CSAT %",
          x: dates,
          y: toPercent(trend.map((day) => day.csat)),
          connectgaps: true,
          line: { color: COLOURS.csat },
        },
      ],
      {
        xaxis: { type: "date", tickformat: "%d %b" },
        yaxis: { range: [0, 100], ticksuffix: "%", rangemode: "tozero" },
        yaxis2: {
          overlaying: "y",
          side: "right",
          showgrid: false,
          rangemode: "tozero",
          tickformat: "d",
          title: { text: "sessions" },
        },
      },
    );
  }

  function drawBreakdown(key, rows, nameKey, empty) {
    if (!rows.length) return nothing(key, empty);
    const sorted = [...rows].sort((a, b) => b.sessions - a.sessions);
    // Plotly's labels take <br>; the names are the service's own line and channel names.
    const names = sorted.map((row) => `${row[nameKey]}<br>(${row.sessions})`);
    const bars = (name, rate, color) => ({
      type: "bar",
      name,
      x: names,
      y: toPercent(sorted.map((row) => row[rate])),
      marker: { color },
      hovertemplate: `${name} %{y:.1f}%<extra></extra>`,
    });
    plot(
      key,
      [
        bars("self-service", "self_service_rate", COLOURS.selfService),
        bars("first-contact resolution", "first_contact_resolution_rate", COLOURS.fcr),
        bars("CSAT", "csat", COLOURS.csat),
        bars("escalation", "escalation_rate", COLOURS.escalation),
      ],
      {
        barmode: "group",
        xaxis: { tickangle: 0, automargin: true },
        yaxis: { range: [0, 100], ticksuffix: "%" },
        legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
        margin: { ...BASE_LAYOUT.margin, t: 56 },
      },
    );
  }

  function drawSatisfaction(satisfaction) {
    const distribution = satisfaction.distribution || {};
    const ratings = ["1", "2", "3", "4", "5"];
    const counts = ratings.map((rating) => distribution[rating] || 0);
    if (!counts.some((count) => count > 0)) return nothing("satisfaction", "No ratings yet.");
    plot(
      "satisfaction",
      [
        {
          type: "bar",
          x: ratings.map((rating) => `${rating} ★`),
          y: counts,
          text: counts.map(String),
          textposition: "auto",
          marker: { color: COLOURS.ratings },
          hovertemplate: "%{y} ratings of %{x}<extra></extra>",
        },
      ],
      { showlegend: false, yaxis: { rangemode: "tozero" } },
    );
  }

  function drawCounts(key, counts, label, empty, color) {
    const rows = Object.entries(counts || {}).filter(([, count]) => count > 0);
    if (!rows.length) return nothing(key, empty);
    // Largest at the top: plotly draws horizontal bars from the bottom up.
    rows.sort((a, b) => a[1] - b[1] || b[0].localeCompare(a[0]));
    plot(
      key,
      [
        {
          type: "bar",
          orientation: "h",
          width: 0.6,
          x: rows.map(([, count]) => count),
          y: rows.map(([name]) => label(name)),
          text: rows.map(([, count]) => String(count)),
          textposition: "auto",
          marker: { color },
          hovertemplate: "%{y}: %{x}<extra></extra>",
        },
      ],
      { showlegend: false, margin: { ...BASE_LAYOUT.margin, l: 190 }, xaxis: { rangemode: "tozero" } },
    );
  }

  function drawCharts(kpis) {
    drawTrend(kpis.trend || []);
    drawBreakdown("lines", kpis.by_line || [], "line", "No product line in this period.");
    drawBreakdown("channels", kpis.by_channel || [], "channel", "No channel in this period.");
    drawSatisfaction(kpis.satisfaction || {});
    drawCounts(
      "escalations",
      (kpis.escalation || {}).reasons,
      (reason) => REASONS[reason] || words(reason),
      "Nobody was handed to a person.",
      COLOURS.escalation,
    );
    drawCounts(
      "abandonment",
      (kpis.abandonment || {}).where,
      words,
      "Nobody left in the middle of a flow.",
      COLOURS.fcr,
    );
  }

  // --- failure clusters ------------------------------------------------------------------

  function examplesCell(examples) {
    const cell = el("td");
    const shown = el("ul");
    for (const text of examples.slice(0, SHOWN_EXAMPLES)) shown.append(el("li", `“${text}”`));
    cell.append(shown);
    if (examples.length > SHOWN_EXAMPLES) {
      const more = el("details");
      more.append(el("summary", `${examples.length - SHOWN_EXAMPLES} more`));
      const rest = el("ul");
      for (const text of examples.slice(SHOWN_EXAMPLES)) rest.append(el("li", `“${text}”`));
      more.append(rest);
      cell.append(more);
    }
    return cell;
  }

  function drawClusters(clusters, problem) {
    const body = $("clusters");
    body.replaceChildren();
    if (problem || !clusters.length) {
      const row = el("tr");
      const cell = el("td", problem || "Nothing went unserved in this period.", "empty");
      cell.colSpan = 5;
      row.append(cell);
      body.append(row);
      return;
    }
    clusters.forEach((cluster, index) => {
      const row = el("tr");
      row.dataset.testid = "failure-cluster";
      const outcomes = Object.entries(cluster.outcomes || {})
        .map(([outcome, count]) => `${OUTCOMES[outcome] || words(outcome)} ${count}`)
        .join(" · ");
      row.append(
        el("td", String(index + 1), "count"),
        el("td", cluster.label),
        el("td", String(cluster.count), "count"),
        el("td", outcomes),
        examplesCell(cluster.examples || []),
      );
      body.append(row);
    });
  }

  // --- loading -----------------------------------------------------------------------------

  function query() {
    const parameters = new URLSearchParams();
    for (const [name, value] of new FormData($("filters"))) if (value) parameters.set(name, value);
    return parameters.toString();
  }

  function draw(kpis, failures, failureProblem) {
    describePeriod(kpis);
    drawTiles(kpis);
    drawCharts(kpis);
    drawClusters((failures && failures.clusters) || [], failureProblem);
  }

  function drawEmbedded() {
    const data = JSON.parse(embedded.textContent);
    draw(data.kpis, data.failures, null);
    const link = $("download-nlu");
    link.href = URL.createObjectURL(new Blob([data.nlu_draft], { type: "application/yaml" }));
  }

  async function refresh() {
    const parameters = query();
    window.history.replaceState(null, "", `${window.location.pathname}?${parameters}`);
    $("download-nlu").href = `/api/supervisor/failures/nlu.yml?${parameters}`;
    document.body.dataset.ready = "false";
    const [kpis, failures] = await Promise.allSettled([
      getJson(`/api/supervisor/kpis?${parameters}`),
      getJson(`/api/supervisor/failures?${parameters}`),
    ]);
    if (kpis.status === "rejected") {
      flash(`The figures could not be read: ${kpis.reason.message}`);
      return;
    }
    flash("");
    draw(
      kpis.value,
      failures.value,
      failures.status === "rejected" ? `Not available: ${failures.reason.message}` : null,
    );
    document.body.dataset.ready = "true";
  }

  if (embedded) {
    drawEmbedded();
    document.body.dataset.ready = "true";
  } else {
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      refresh();
    });
    refresh();
  }
})();
