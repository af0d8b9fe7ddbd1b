// The charts and tables of a run report's data (hypervisor/report.ts's ReportData), shared by
// the report page (devices/host/report.ts inlines this file into it) and the live console
// (web/console.js imports it), so that both draw the same series the same way. uPlot comes
// in as an argument: the report page has its classic build as a global, the console its
// ES module.

/** Series colours, one per exit kind (there are 18). */
export const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
  "#1b9e77",
  "#d95f02",
  "#7570b3",
  "#e7298a",
  "#66a61e",
  "#e6ab02",
  "#a6761d",
  "#666666",
];

/** `n` with thousands separators and at most `d` decimals. */
export const fmt = (n, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d });

/** A new element with text (never read as HTML) and a class. */
export function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

/** The charts' x axes, by the name a menu or caller picks. */
export const X_AXES = {
  wall: { label: "wall time (s)", unit: "s", of: (s) => s.wallMs.map((ms) => ms / 1000) },
  guest: {
    label: "guest instructions (millions)",
    unit: "M",
    of: (s) => s.guestInstructions.map((n) => n / 1e6),
  },
};

/**
 * The report's time series as uPlot charts in `container`: guest MIPS, exits per second stacked
 * by kind, shadow page-table pages and reclaims, and the hypervisor's share of the time.
 * `charts` holds them by name (mips, exits, shadow, hypervisor) for tests and curious users.
 */
export class ReportCharts {
  /** The uPlot charts by name. */
  charts = {};
  #uPlot;
  #container;
  #size;
  #xAxis = X_AXES.wall;
  /** What the charts were drawn for: new exit kinds or another mode need new charts. */
  #shape = "";
  /** Exits per second by kind (in the order of the kinds), for the legend's values. */
  #rates = [];

  /** `size`: { width(): number, height }. */
  constructor(uPlot, container, size) {
    this.#uPlot = uPlot;
    this.#container = container;
    this.#size = size;
  }

  /** Draws the charts of `data` ({ mode, series }) anew, against x axis `xAxis` (X_AXES' name). */
  draw(data, xAxis = "wall") {
    this.#xAxis = X_AXES[xAxis];
    for (const u of Object.values(this.charts)) u.destroy();
    this.charts = {};
    this.#container.replaceChildren();
    this.#shape = this.#shapeOf(data);
    const s = data.series, columns = this.#columns(data);
    this.#chart(
      "mips",
      "Guest MIPS",
      [{
        label: "MIPS",
        stroke: PALETTE[0],
        width: 2,
        value: (_u, v) => v === null ? "-" : fmt(v, 2),
      }],
      columns.mips,
      { unit: "MIPS" },
    );

    const kinds = Object.keys(s.exits);
    if (data.mode === "bare") {
      this.#noChart(
        "Hypervisor exits per second, by kind",
        "Bare run: the guest runs directly on the hart, no exits.",
      );
    } else if (kinds.length === 0) {
      this.#noChart("Hypervisor exits per second, by kind", "No exits were recorded.");
    } else {
      // Drawn top first, so that each lower band's fill covers the one above it.
      const order = kinds.map((_, k) => kinds.length - 1 - k);
      this.#chart(
        "exits",
        "Hypervisor exits per second, stacked by kind",
        order.map((k) => ({
          label: kinds[k],
          stroke: PALETTE[k % PALETTE.length],
          fill: PALETTE[k % PALETTE.length] + "cc",
          value: (_u, _v, _si, i) => i === null ? "-" : fmt(this.#rates[k][i]) + "/s",
        })),
        columns.exits,
        { unit: "exits/s" },
      );
    }
    if (data.mode === "bare") {
      this.#noChart(
        "Shadow page tables",
        "Bare run: the guest's own page tables are used, no shadow tables.",
      );
      this.#noChart("Time in the hypervisor", "Bare run: no hypervisor.");
      return;
    }
    this.#chart(
      "shadow",
      "Shadow page-table pages in use, and pool reclaims",
      [
        { label: "pages in use", stroke: PALETTE[4], width: 2, scale: "pages" },
        { label: "reclaims", stroke: PALETTE[2], width: 1, scale: "reclaims" },
      ],
      columns.shadow,
      {
        extra: {
          axes: [
            { label: this.#xAxis.label },
            { label: "pages", scale: "pages", size: 70 },
            { label: "reclaims", scale: "reclaims", side: 1, grid: { show: false } },
          ],
          scales: {
            x: { time: false },
            pages: {},
            reclaims: { range: (_u, _lo, hi) => [0, Math.max(1, hi)] },
          },
        },
      },
    );
    this.#chart(
      "hypervisor",
      "Share of the time in the hypervisor's exit handlers (estimated)",
      [{
        label: "hypervisor",
        stroke: PALETTE[6],
        width: 2,
        value: (_u, v) => v === null ? "-" : fmt(v * 100, 1) + " %",
      }],
      columns.hypervisor,
      {
        unit: "share",
        extra: { scales: { x: { time: false }, y: { range: [0, 1] } } },
      },
    );
  }

  /** Shows `data` (more samples of the same run): new data for the charts, or new charts. */
  update(data) {
    if (this.#shapeOf(data) !== this.#shape) {
      return this.draw(data, Object.keys(X_AXES).find((k) => X_AXES[k] === this.#xAxis));
    }
    const columns = this.#columns(data);
    for (const [name, u] of Object.entries(this.charts)) u.setData(columns[name]);
  }

  #shapeOf(data) {
    return `${data.mode} ${Object.keys(data.series.exits).join(",")}`;
  }

  /** Each chart's data: the x column, then its series. */
  #columns(data) {
    const s = data.series, x = this.#xAxis.of(s), kinds = Object.keys(s.exits);
    // Stacked: each kind's line is drawn at the sum of its own rate and the kinds below it.
    const dt = s.wallMs.map((ms, i) => i === 0 ? 0 : (ms - s.wallMs[i - 1]) / 1000);
    this.#rates = kinds.map((k) => s.exits[k].map((n, i) => dt[i] > 0 ? n / dt[i] : 0));
    const stacked = [];
    this.#rates.forEach((r, k) => stacked.push(r.map((v, i) => v + (k ? stacked[k - 1][i] : 0))));
    return {
      mips: [x, s.mips],
      exits: [x, ...kinds.map((_, k) => stacked[kinds.length - 1 - k])],
      shadow: [x, s.shadowPages, s.reclaims],
      hypervisor: [x, s.hypervisorShare],
    };
  }

  #chart(name, title, series, data, opts = {}) {
    const box = el("div", undefined, "chart");
    box.append(el("h3", title));
    this.#container.append(box);
    this.charts[name] = new this.#uPlot(
      {
        width: this.#size.width(),
        height: this.#size.height,
        scales: { x: { time: false } },
        axes: [{ label: this.#xAxis.label }, { label: opts.unit ?? "", size: 70 }],
        series: [
          { label: this.#xAxis.unit, value: (_u, v) => v === null ? "-" : fmt(v, 3) },
          ...series,
        ],
        ...opts.extra,
      },
      data,
      box,
    );
  }

  #noChart(title, why) {
    const box = el("div", undefined, "chart");
    box.append(el("h3", title), el("p", why, "none"));
    this.#container.append(box);
  }
}

/**
 * Fills table element `t` with a header row and `rows` (text nodes only); `numeric[i]` right-aligns
 * and formats column i. No rows: the table gives way to a paragraph saying `empty`, or shows it
 * in one cell when `keep` (a live table that may fill later).
 */
export function fillTable(t, head, rows, numeric, empty, keep = false) {
  t.replaceChildren();
  if (rows === null || rows.length === 0) {
    if (!keep) return t.replaceWith(el("p", empty, "none"));
    const tr = el("tr");
    tr.append(el("td", empty, "none"));
    return t.append(tr);
  }
  const tr = el("tr");
  head.forEach((h, i) => tr.append(el("th", h, numeric[i] ? "n" : "")));
  t.append(tr);
  for (const row of rows) {
    const r = el("tr");
    row.forEach((v, i) => r.append(el("td", numeric[i] ? fmt(v) : v, numeric[i] ? "n" : "")));
    t.append(r);
  }
}

/** The top trapping pcs table of `topPcs` (ReportData.topPcs) in `t`. */
export function topPcTable(t, mode, topPcs, keep = false) {
  fillTable(
    t,
    ["pc", "symbol", mode === "bare" ? "traps" : "exits", "causes"],
    topPcs.map((p) => [
      p.pc,
      p.symbol ?? "?",
      p.count,
      p.causes.map((c) => c.cause + " " + fmt(c.count)).join(", "),
    ]),
    [false, false, true, false],
    "No traps were recorded.",
    keep,
  );
}
