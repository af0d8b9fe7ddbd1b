/**
 * The status line of long interactive runs: instructions, MIPS and (under the
 * hypervisor) exits per second, refreshed about once a second on stderr, and
 * only when stderr is a terminal.
 *
 * When stdout is the same kind of terminal (the guest's console), the line
 * lives in the bottom row, outside a scrolling region that keeps the guest's
 * output above it (as tmux and screen keep theirs); otherwise it is redrawn in
 * place with a carriage return. A shared terminal that reports no size gets
 * no line: redrawn in place, it would erase the guest's unfinished line (its
 * prompt) and glue the guest's next output to the status text.
 *
 * @module
 */

import { writeStderr } from "./terminal.ts";

/** What the status line reads each second. */
export interface StatusSource {
  /** Instructions retired so far. */
  retired(): number;
  /** Hypervisor exits so far, or null when bare. */
  exits(): number | null;
}

/** A running status line. */
export interface StatusLine {
  /** Removes the line and restores the terminal's scrolling region. */
  stop(): void;
}

/** One status text: `rvisor: 123.4 M instr  56.7 MIPS  8.9 k exits/s`. */
export function formatStatus(
  retired: number,
  mips: number,
  exitsPerSecond: number | null,
): string {
  const exits = exitsPerSecond === null ? "" : `  ${scaled(exitsPerSecond)} exits/s`;
  return `rvisor: ${scaled(retired)} instr  ${mips.toFixed(1)} MIPS${exits}`;
}

function scaled(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

/**
 * Starts the status line if stderr is a terminal (else returns null): first
 * drawn after `delayMs` (short runs never see it), then every `periodMs`.
 * It is also removed when the process exits.
 */
export function startStatusLine(
  source: StatusSource,
  delayMs = 2000,
  periodMs = 1000,
): StatusLine | null {
  if (!Deno.stderr.isTerminal()) return null;
  const sharedTerminal = Deno.stdout.isTerminal();
  let rows = 0, drawn = false;
  let last = { t: performance.now(), retired: source.retired(), exits: source.exits() ?? 0 };
  const draw = () => {
    const now = { t: performance.now(), retired: source.retired(), exits: source.exits() };
    const dt = (now.t - last.t) / 1000;
    const text = formatStatus(
      now.retired,
      dt > 0 ? (now.retired - last.retired) / dt / 1e6 : 0,
      now.exits === null ? null : dt > 0 ? (now.exits - last.exits) / dt : 0,
    );
    last = { ...now, exits: now.exits ?? 0 };
    if (!sharedTerminal) {
      drawn = true;
      return writeStderr(`\r\x1b[K${text}`);
    }
    const size = Deno.consoleSize();
    if (size.rows < 3) return; // no size (some pseudo-terminals): no room of its own
    drawn = true;
    if (size.rows !== rows) {
      rows = size.rows; // keep guest output in rows 1..rows-1: save cursor, set region, restore
      writeStderr(`\x1b7\x1b[1;${rows - 1}r\x1b8`);
    }
    writeStderr(`\x1b7\x1b[${rows};1H\x1b[2K${text.slice(0, Math.max(20, size.columns - 1))}\x1b8`);
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  const delay = setTimeout(() => {
    draw();
    timer = setInterval(draw, periodMs);
  }, delayMs);
  let stopped = false;
  const line: StatusLine = {
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(delay);
      clearInterval(timer);
      globalThis.removeEventListener("unload", line.stop);
      if (!drawn) return;
      if (rows === 0) writeStderr("\r\x1b[K");
      else writeStderr(`\x1b7\x1b[${rows};1H\x1b[2K\x1b[r\x1b8`);
    },
  };
  globalThis.addEventListener("unload", line.stop);
  return line;
}
