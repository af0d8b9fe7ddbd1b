// The web console's page (served by devices/host/web.ts): the guest's serial
// console in xterm.js, run control, and live charts (uPlot, drawn by web/charts.js as
// the run report's page draws them) of the run report's series the server sends. The WebSocket protocol is in the README ("The web console").
// The page's import map sends these to the server's copies; `deno check` resolves them
// through deno.json to the same pinned packages.
import { Terminal } from "@xterm/xterm";
import uPlot from "uplot/dist/uPlot.esm.js";
import { fillTable, ReportCharts, topPcTable } from "./charts.js";

const $ = (id) => document.getElementById(id);
const term = new Terminal({ convertEol: true, cols: 100, rows: 30, scrollback: 5000 });
term.open($("terminal"));
term.focus();

const view = {
  /** Everything the page shows, for people and for tests (tests/web_console_browser_test.ts). */
  socket: null,
  typist: false,
  state: "connecting",
  reason: null,
  pc: null,
  errors: [],
  /** The run report's series so far ({ mode, series }, as ReportData has them), or null. */
  report: null,
  /** The charts of `report` (their uPlot charts by name in `charts.charts`). */
  charts: null,
  /** The last `tables` message: the top trapping pcs, CSR and device exits. */
  tables: null,
  term,
  /** The terminal's lines as xterm.js rendered them (scrollback included). */
  screen() {
    const buffer = term.buffer.active, lines = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
    return lines.join("\n");
  },
};
globalThis.rvisor = view;

const ws = new WebSocket(`ws://${location.host}/ws`);
ws.binaryType = "arraybuffer";
view.socket = ws;
const send = (msg) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(msg));
const control = (action, extra = {}) => send({ type: "control", action, ...extra });

// A paste can be longer than one message may carry: send it in pieces that fit the limits
// hello gives, even when JSON escapes every character (\u0001: 6 characters for 1).
let piece = 512;
term.onData((data) => {
  if (!view.typist) return;
  const chars = [...data]; // code points: a piece never splits a surrogate pair
  for (let i = 0; i < chars.length; i += piece) {
    send({ type: "input", data: chars.slice(i, i + piece).join("") });
  }
});

function showRole() {
  $("role").textContent = view.typist ? "you type" : "watching";
  $("role").className = view.typist ? "" : "watching";
  $("takeover").hidden = view.typist;
  for (const id of ["pause", "resume", "step", "reset", "save", "load"]) {
    $(id).disabled = !view.typist;
  }
}

function showStatus() {
  const pc = view.pc === null ? "" : `  pc 0x${view.pc.toString(16)}`;
  const reason = view.reason ? ` (${view.reason})` : "";
  $("status").textContent = `${view.state}${reason}${pc}`;
}

function showError(text) {
  view.errors.push(text);
  $("errors").textContent = view.errors.slice(-3).join("\n");
}

ws.onmessage = (e) => {
  if (e.data instanceof ArrayBuffer) {
    const bytes = new Uint8Array(e.data);
    term.write(bytes);
    return;
  }
  const msg = JSON.parse(e.data);
  switch (msg.type) {
    case "hello":
      view.typist = msg.typist;
      piece = Math.min(
        Math.floor(msg.limits.maxInput / 2),
        Math.floor((msg.limits.maxMessage - 64) / 6 / 2),
      );
      $("save").hidden = $("load").hidden = $("snapname").hidden = !msg.snapshots;
      showRole();
      break;
    case "typist":
      view.typist = msg.typist;
      showRole();
      break;
    case "state":
      view.state = msg.state;
      view.reason = msg.reason ?? null;
      view.pc = msg.pc;
      if (msg.message) term.write(`\r\n\x1b[33m[rvisor: ${msg.message}]\x1b[0m\r\n`);
      showStatus();
      break;
    case "done":
      if (msg.action === "step") {
        view.pc = msg.pc;
        showStatus();
      }
      break;
    case "notice":
      term.write(`\r\n\x1b[33m[rvisor: ${msg.text}]\x1b[0m\r\n`);
      break;
    case "series":
      addSamples(msg);
      break;
    case "tables":
      showTables(msg);
      break;
    case "error":
      showError(msg.message);
      break;
  }
};
ws.onclose = (e) => {
  // A halted guest stays "halted"; anything else lost its server.
  if (view.state !== "halted") view.state = "disconnected";
  view.reason = e.reason || null;
  view.typist = false;
  showRole();
  showStatus();
};

for (const action of ["pause", "resume", "step", "reset", "save", "load", "takeover"]) {
  const name = action === "save" || action === "load"
    ? () => ({ name: $("snapname").value })
    : null;
  $(action).onclick = () => {
    control(action, name?.() ?? {});
    term.focus(); // keys go back to the guest, not to the button (where Enter would click it again)
  };
}

// ---- live charts and tables of the run report's figures

view.charts = new ReportCharts(uPlot, $("charts"), { width: () => 480, height: 220 });

/** Appends a `series` message's samples to the ones the page has (or starts over at start 0). */
function addSamples(msg) {
  const r = view.report;
  if (r === null || msg.start === 0) {
    view.report = { mode: msg.mode, series: msg.series };
  } else {
    const have = r.series.wallMs.length;
    for (const [key, column] of Object.entries(msg.series)) {
      if (Array.isArray(column)) r.series[key].push(...column);
    }
    // A kind's first exits: its column is 0 for the samples before.
    for (const [kind, column] of Object.entries(msg.series.exits)) {
      r.series.exits[kind] ??= new Array(have).fill(0);
      r.series.exits[kind].push(...column);
    }
  }
  view.charts.update(view.report);
}

$("x-axis").onchange = (e) => view.report && view.charts.draw(view.report, e.target.value);

function showTables(msg) {
  view.tables = msg;
  const mode = view.report?.mode ?? "hypervisor";
  topPcTable($("top-pcs"), mode, msg.topPcs, true);
  const bare = "Bare run: nothing exits to a hypervisor.";
  const rows = (list) => list?.map((r) => [r.name, r.reads, r.writes]) ?? [];
  fillTable(
    $("csrs"),
    ["CSR", "reads", "writes"],
    rows(msg.csrs),
    [false, true, true],
    msg.csrs === null ? bare : "No CSR exits yet.",
    true,
  );
  fillTable(
    $("devices"),
    ["device", "reads", "writes"],
    rows(msg.devices),
    [false, true, true],
    msg.devices === null ? bare : "No MMIO exits yet.",
    true,
  );
}
