/**
 * Run reports as files: `--report FILE.json` (the {@linkcode ReportData}
 * object) or `--report FILE.html`, one self-contained page that opens with no
 * network: uPlot's script and style sheet (npm `uplot`, pinned in deno.json)
 * and the data are inlined, and the page's own script draws the charts and
 * tables from the data.
 *
 * uPlot's files come in as text imports of the pinned npm package, so the
 * page carries exactly the package's bytes whether rvisor runs from source,
 * from a clean clone (Deno fetches the package from npm on first use) or from
 * the bundle (`deno bundle` inlines text imports); no generated copy has to be
 * kept in step with the pin.
 *
 * @module
 */

import uplotScript from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotStyle from "uplot/dist/uPlot.min.css" with { type: "text" };
import chartsScript from "../../web/charts.js" with { type: "text" };
import type { ReportData } from "../../hypervisor/report.ts";

/** A report file name with neither `.json` nor `.html`, or a path that cannot be written. */
export class ReportPathError extends Error {
  override name = "ReportPathError";
}

/** The formats a report file can have, by file name extension. */
const FORMATS: Record<string, "json" | "html"> = {
  ".json": "json",
  ".html": "html",
  ".htm": "html",
};

/** The format of report file `path` by its extension; throws {@linkcode ReportPathError}. */
export function reportFormat(path: string): "json" | "html" {
  const dot = path.lastIndexOf(".");
  const ext = dot > path.lastIndexOf("/") ? path.slice(dot).toLowerCase() : "";
  const format = FORMATS[ext];
  if (format === undefined) {
    throw new ReportPathError(
      `${path}: ${ext ? `unknown report extension '${ext}'` : "no extension"}: ` +
        "name the report FILE.html or FILE.json",
    );
  }
  return format;
}

/**
 * Checks, before a run, that `path` names a report format and can be written
 * (an existing file is opened without truncating it; a new one is created and
 * removed again). Throws {@linkcode ReportPathError} with a one-line message.
 */
export function checkReportPath(path: string): "json" | "html" {
  const format = reportFormat(path);
  let existed = true;
  try {
    existed = Deno.statSync(path).isFile;
    if (!existed) throw new ReportPathError(`${path}: not a regular file`);
  } catch (e) {
    if (e instanceof ReportPathError) throw e;
    if (!(e instanceof Deno.errors.NotFound)) throw pathError(path, e);
    existed = false;
  }
  try {
    Deno.openSync(path, existed ? { write: true } : { write: true, createNew: true }).close();
    if (!existed) Deno.removeSync(path);
  } catch (e) {
    throw pathError(path, e);
  }
  return format;
}

function pathError(path: string, e: unknown): ReportPathError {
  const why = e instanceof Deno.errors.NotFound
    ? "no such directory"
    : e instanceof Deno.errors.PermissionDenied
    ? "permission denied"
    : e instanceof Deno.errors.IsADirectory
    ? "is a directory"
    : (e as Error).message;
  return new ReportPathError(`${path}: cannot write the report: ${why}`);
}

/** Writes `data` to `path` as JSON or HTML by its extension; throws {@linkcode ReportPathError}. */
export function writeReportFile(path: string, data: ReportData): void {
  const text = reportFormat(path) === "json"
    ? JSON.stringify(data, null, 1) + "\n"
    : reportHtml(data);
  try {
    Deno.writeTextFileSync(path, text);
  } catch (e) {
    throw pathError(path, e);
  }
}

/**
 * Text that is safe inside a `<script>` or `<style>` element: `</` cannot
 * close it early (JSON and JavaScript read `<\/` as `</`).
 */
function inline(text: string): string {
  return text.replaceAll("</", "<\\/");
}

/** The report as one self-contained HTML page. */
export function reportHtml(data: ReportData): string {
  // In JSON, \u003c is '<': a symbol or path with `</script>` in it stays data.
  const json = JSON.stringify(data).replaceAll("<", "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rvisor run report</title>
<style>${inline(uplotStyle)}</style>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>rvisor run report</h1>
<p id="summary"></p>
<ul id="notes"></ul>
<p><label>x axis: <select id="x-axis">
<option value="wall">host wall time</option>
<option value="guest">guest instructions (virtual time)</option>
</select></label></p>
<div id="charts"></div>
<h2>Where the host's time went</h2>
<p id="privilege"></p>
<h2>Top trapping guest pcs</h2>
<table id="top-pcs"></table>
<h2>CSR exits</h2>
<table id="csrs"></table>
<h2>MMIO exits by device</h2>
<table id="devices"></table>
<h2>Shadow page tables</h2>
<table id="shadow"></table>
<h2>vCPUs</h2>
<table id="vcpus"></table>
<h2>Configuration</h2>
<table id="config"></table>
<h2>Statistics (--stats)</h2>
<pre id="stats"></pre>
<script type="application/json" id="report-data">${json}</script>
<script>${inline(uplotScript)}</script>
<script type="module">${inline(chartsScript)}
${inline(PAGE_SCRIPT)}</script>
</body>
</html>
`;
}

const PAGE_STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1100px; }
h1 { font-size: 1.5em; margin: 0 0 .3em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .4em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; }
td, th { padding: 2px 10px 2px 0; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font: 12px/1.35 ui-monospace, monospace; }
.chart { margin: 1em 0; }
.chart h3 { font-size: 1em; margin: 0 0 .2em; }
.none { color: #777; font-style: italic; }
#notes li { color: #8a5a00; }
`;

/**
 * The page's script (after web/charts.js, in the same module): reads the
 * inlined data, draws the uPlot charts (kept in
 * `window.rvisorCharts` by name, for tests and curious users) and fills the
 * tables with text nodes only, so nothing in the data is read as HTML.
 */
const PAGE_SCRIPT = `
const data = JSON.parse(document.getElementById("report-data").textContent);
function table(id, head, rows, numeric, empty) {
  fillTable(document.getElementById(id), head, rows, numeric, empty);
}
const sum = data.summary;
document.getElementById("summary").textContent =
  data.mode + " run, " + fmt(sum.guestInstructions) + " guest instructions in " +
  fmt(sum.wallMs / 1000, 3) + " s (" + fmt(sum.mips, 1) + " MIPS), " +
  (sum.exits === null ? "no hypervisor" : fmt(sum.exits) + " hypervisor exits") + ", " +
  fmt(sum.traps) + " traps; " + sum.samples + " samples every " + sum.intervalMs +
  " ms; made " + data.created;
for (const n of data.notes) document.getElementById("notes").append(el("li", n));

const charts = new ReportCharts(uPlot, document.getElementById("charts"), {
  width: () => Math.max(300, Math.min(1060, document.body.clientWidth - 20)),
  height: 240,
});
charts.draw(data, "wall");
window.rvisorCharts = charts.charts;
document.getElementById("x-axis").addEventListener("change", (e) => {
  charts.draw(data, e.target.value);
  window.rvisorCharts = charts.charts;
});

const p = data.privilege;
document.getElementById("privilege").textContent = p === null
  ? "Bare run: the guest's code runs directly on the hart; there is no hypervisor time."
  : "hypervisor (host M-mode, exit handlers): " + fmt(p.hypervisorMs, 1) + " ms (" +
    fmt(p.hypervisorShare * 100, 1) + " %, estimated from " + fmt(p.timedExits) +
    " timed exits); guest (host U-mode) and run loop: " + fmt(p.guestMs, 1) +
    " ms. Exits by the guest's mode: M " + fmt(p.exitsByGuestMode.M) + ", S " +
    fmt(p.exitsByGuestMode.S) + ", U " + fmt(p.exitsByGuestMode.U) + ".";
topPcTable(document.getElementById("top-pcs"), data.mode, data.topPcs);
const accessRows = (rows) => rows === null ? null : rows.map((r) => [r.name, r.reads, r.writes]);
const bareWhy = "Bare run: nothing exits to a hypervisor.";
table("csrs", ["CSR", "reads", "writes"], accessRows(data.csrs), [false, true, true],
  data.csrs === null ? bareWhy : "No CSR exits.");
table("devices", ["device", "reads", "writes"], accessRows(data.devices), [false, true, true],
  data.devices === null ? bareWhy : "No MMIO exits.");
const sh = data.shadow;
table("shadow", ["", ""], sh === null ? null : [["pool capacity (pages)", fmt(sh.capacity)],
  ["in use at the end", fmt(sh.inUse)], ["most in use at a sample", fmt(sh.peakInUse)],
  ["fills", fmt(sh.fills)], ["flushes by the guest", fmt(sh.flushes)],
  ["reclaims (pool ran dry)", fmt(sh.reclaims)]], [false, false], bareWhy);
const kinds = (v) => Object.entries(v.exitsByKind).map(([k, n]) => k + " " + fmt(n)).join(", ");
table("vcpus", ["vCPU", "guest instructions", "exits", "shadow fills", "exits by kind"],
  data.vcpus === null ? null : data.vcpus.map((v) =>
    [v.vcpu, v.guestInstructions, v.exits, v.shadowFills, kinds(v)]),
  [true, true, true, true, false], bareWhy);
table("config", ["setting", "value"], Object.entries(data.config), [false, false], "None.");
document.getElementById("stats").textContent = data.stats.join("\\n");
`;
