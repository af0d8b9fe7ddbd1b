// The web console's page (served by devices/host/web.ts): the guest's serial
// console in xterm.js, run control, and live charts (uPlot) of the counters
// the server sends. The WebSocket protocol is in the README ("The web console").
// The page's import map sends these to the server's copies; `deno check` resolves them
// through deno.json to the same pinned packages.
import { Terminal } from "@xterm/xterm";
import uPlot from "uplot/dist/uPlot.esm.js";

/** Points kept per chart: 5 minutes of 500 ms samples. */
const MAX_POINTS = 600;
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"];

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
  mips: null,
  exits: null,
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
      if (msg.mode === "bare") {
        exitTitle = "no hypervisor exits: the guest runs bare";
        exitChart();
      }
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
    case "stats":
      chart(msg);
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

// ---- live charts: rates from the cumulative counters of consecutive samples

let last = null;
const mipsData = [[], []];
/** Exit kinds in the order they first appeared; exitData[1 + i] is the stacked sum up to kind i. */
const kinds = [];
const exitData = [[]];
const SIZE = { width: 480, height: 220 };
let exitTitle = "hypervisor exits per second, stacked by kind";

view.mips = new uPlot(
  {
    ...SIZE,
    title: "guest MIPS",
    series: [{}, { label: "MIPS", stroke: COLORS[0], fill: "#1f77b433" }],
    scales: { x: { time: false } },
    axes: [{ label: "seconds since rvisor started" }, { size: 60 }],
  },
  mipsData,
  $("mips"),
);

function exitChart() {
  view.exits?.destroy();
  // Stacked: each kind's line is the sum of the kinds before it plus its own; bands fill between.
  view.exits = new uPlot(
    {
      ...SIZE,
      title: exitTitle,
      series: [
        {},
        ...kinds.map((k, i) => ({
          label: k,
          stroke: COLORS[i % COLORS.length],
          fill: COLORS[i % COLORS.length] + "55",
        })),
      ],
      bands: kinds.slice(1).map((_, i) => ({ series: [i + 2, i + 1] })),
      scales: { x: { time: false } },
      axes: [{ label: "seconds since rvisor started" }, { size: 60 }],
    },
    exitData,
    $("exits"),
  );
}
exitChart();

function push(series, value) {
  series.push(value);
  if (series.length > MAX_POINTS) series.shift();
}

function chart(msg) {
  const exits = msg.exits;
  // A reset or snapshot load takes the counters back: start over from that sample.
  if (last !== null && msg.t > last.t && msg.guestInstructions >= last.guestInstructions) {
    const dt = (msg.t - last.t) / 1000;
    const x = msg.t / 1000;
    push(mipsData[0], x);
    push(mipsData[1], (msg.guestInstructions - last.guestInstructions) / dt / 1e6);
    view.mips.setData(mipsData);
    let grew = false;
    for (const k of Object.keys(exits)) {
      if (!kinds.includes(k)) {
        kinds.push(k);
        exitData.push(exitData[0].map(() => null));
        grew = true;
      }
    }
    push(exitData[0], x);
    let sum = 0;
    kinds.forEach((k, i) => {
      sum += ((exits[k] ?? 0) - (last.exits[k] ?? 0)) / dt;
      push(exitData[1 + i], sum);
    });
    for (let i = 1; i < exitData.length; i++) {
      while (exitData[i].length > exitData[0].length) exitData[i].shift();
    }
    if (grew) exitChart();
    else view.exits.setData(exitData);
  }
  last = msg;
}
