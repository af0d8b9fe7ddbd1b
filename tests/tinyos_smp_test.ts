/**
 * tinyos on several harts (issue 12's "teaching kernel with 3 harts"): every
 * hart enters tinyos at 0x8000_0000 in M-mode, hart 0 sets the kernel up and
 * releases the others, and each hart schedules processes from the one table.
 * Typed at the shell on QEMU `-smp 3`, on rvisor bare and under the hypervisor
 * (the kernel in virtual M-mode on 3 vCPUs), with the translator on and off,
 * and through boot.ts `--smp 2`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createMachine, type Machine } from "../mod.ts";
import { TINYOS_ELF } from "../scripts/build-tinyos.ts";
import { HANG_GUARD_MS, hostTest, missing, QEMU, QEMU_CPU } from "../scripts/host-tools.ts";
import { promptSession } from "./prompt_session.ts";

/** Instructions a command may take (spin 3 takes about 100 M: 10 ticks of 10 M). */
const COMMAND_BUDGET = 300_000_000;

/** tinyos with `harts` harts on rvisor, typed at like a terminal. */
class SmpTinyos {
  readonly machine: Machine;
  output = "";

  constructor(harts: number, hypervisor: boolean, jit = true) {
    this.machine = createMachine({
      kernel: { name: "tinyos.elf", bytes: Deno.readFileSync(TINYOS_ELF) },
      smp: harts,
      hypervisor,
      jit,
      clock: "virtual",
      rtcBase: 0,
      console: (b) => this.output += String.fromCharCode(b),
    });
  }

  async boot(): Promise<string> {
    const r = await this.machine.run({
      until: "$ ",
      maxInstructions: COMMAND_BUDGET,
      timeoutMs: HANG_GUARD_MS,
    });
    assert.equal(r.stop, "until", `no prompt after boot:\n${this.output}`);
    return this.output;
  }

  /** Types `line` + Enter; returns what the shell printed before the next prompt. */
  async command(line: string, budget = COMMAND_BUDGET): Promise<string> {
    const from = this.output.length;
    this.machine.send(line + "\n");
    const r = await this.machine.run({
      until: "\n$ ",
      maxInstructions: budget,
      timeoutMs: HANG_GUARD_MS,
    });
    assert.equal(r.stop, "until", `no prompt after '${line}':\n${this.output}`);
    const answer = this.output.slice(from, this.output.lastIndexOf("\n$ ") + 1);
    return answer.slice(answer.indexOf("\r\n") + 2).replaceAll("\r\n", "\n");
  }

  async poweroff(): Promise<void> {
    this.machine.send("poweroff\n");
    const r = await this.machine.run({ maxInstructions: COMMAND_BUDGET, timeoutMs: HANG_GUARD_MS });
    assert.equal(r.stop, "halt");
    assert.equal(r.reason, "poweroff");
    assert.equal(r.exitCode, 0);
  }
}

/** `harts`' table: each hart's timer ticks and processes started, by hart id. */
function parseHarts(text: string): { ticks: number; started: number }[] {
  const lines = text.replaceAll("\r\n", "\n").trim().split("\n");
  const online = Number(/^(\d+) harts? online$/.exec(lines[0])?.[1]);
  assert.match(lines[1], /^HART\s+TICKS\s+STARTED$/);
  const rows = lines.slice(2).map((line, i) => {
    const m = line.match(/^(\d+)\s+(\d+)\s+(\d+)$/);
    assert.ok(m, `harts line: ${line}`);
    assert.equal(Number(m[1]), i);
    return { ticks: Number(m[2]), started: Number(m[3]) };
  });
  assert.equal(rows.length, online, text);
  return rows;
}

/** ps with several harts: the HART column says which hart ran each process last. */
function parsePs(text: string): { pid: number; state: string; hart: string; name: string }[] {
  const lines = text.trim().split("\n");
  assert.match(lines[0], /^PID\s+STATE\s+TICKS\s+HART\s+NAME$/);
  return lines.slice(1).map((line) => {
    const m = line.match(/^(\d+)\s+(\w+)\s+\d+\s+(\d+|-)\s+(\S+)$/);
    assert.ok(m, `ps line: ${line}`);
    return { pid: Number(m[1]), state: m[2], hart: m[3], name: m[4] };
  });
}

/** What every run on `harts` harts must show: all of them online, ticking and running processes. */
async function checkSession(os: SmpTinyos, harts: number): Promise<void> {
  const boot = await os.boot();
  assert.match(boot, /tinyos: booting \(M-mode\), hart 0, device tree at 0x/);
  assert.ok(boot.includes(`tinyos: ${harts} harts online\r\n`), boot);
  assert.ok(boot.endsWith("tinyos: started sh (pid 1) and ticker (pid 2) in U-mode\r\n$ "), boot);
  const all = Array.from({ length: harts }, (_, h) => h).join(" ");
  assert.equal(
    await os.command(`spin ${harts}`),
    `spin: started pids 3 to ${2 + harts}\nspin: done, ran on harts ${all}\n`,
  );
  const rows = parseHarts(await os.command("harts"));
  assert.equal(rows.length, harts);
  for (const [h, row] of rows.entries()) {
    assert.ok(row.ticks >= 1, `hart ${h} never ticked`);
    assert.ok(row.started >= 1, `hart ${h} never started a process`);
  }
  const procs = parsePs(await os.command("ps"));
  assert.deepEqual(procs.map((p) => [p.pid, p.name]), [[1, "sh"], [2, "ticker"]]);
  for (const p of procs) assert.ok(Number(p.hart) < harts, `pid ${p.pid} on hart ${p.hart}`);
  assert.equal(procs[0].state, "running");
  await os.poweroff();
}

/** A whole session on 3 harts, checked; what two runs must agree on. */
async function session(hypervisor: boolean, jit = true) {
  const os = new SmpTinyos(3, hypervisor, jit);
  await checkSession(os, 3);
  const m = os.machine;
  assert.equal(m.vm.harts.length, 3);
  for (const [i, h] of m.vm.harts.entries()) {
    assert.ok(h.retired > 1_000_000, `hart ${i} ran tinyos: ${h.retired} instructions`);
  }
  if (hypervisor) {
    // The kernel ran in virtual M-mode on 3 vCPUs, vCPU i on hart i with mhartid i.
    const vcpus = m.hypervisor!.vcpus;
    assert.equal(vcpus.length, 3);
    for (const [i, v] of vcpus.entries()) assert.equal(v.guest.vcpu.csr.hartId, i);
  }
  return {
    output: os.output,
    counts: m.vm.harts.map((h) => h.retired),
    guest: m.vm.guestInstructions,
    emulated: m.hypervisor?.emulated,
  };
}

Deno.test("tinyos --smp 3 (bare): 3 harts online; spin runs on each; each hart ticked and started processes; poweroff exits 0", async () => {
  await session(false);
});

// The hart that took the input line was running the ticker, which the interrupt preempts; its
// scheduler went on from the process another hart had picked last (the shell), so it took the
// ticker again, which spins until its next tick (10 M instructions away), while the shell,
// runnable, waited for an idle hart's tick. Each hart now goes round from its own last process.
Deno.test("tinyos --smp 3: a line typed while the ticker spins is answered at once (bare)", async () => {
  const os = new SmpTinyos(3, false);
  await os.boot();
  for (const line of ["ps", "uptime", "harts", "ps"]) await os.command(line, 2_000_000);
  await os.poweroff();
});

Deno.test("tinyos --smp 3 under the hypervisor, translator on and off: the same session, the same output and per-hart counts", async () => {
  const on = await session(true, true), off = await session(true, false);
  assert.equal(on.output, off.output);
  assert.deepEqual(on.counts, off.counts);
  assert.equal(on.guest, off.guest);
  assert.equal(on.emulated, off.emulated);
});

Deno.test("tinyos --smp 3: two virtual-clock runs under the hypervisor give the same console output and instruction counts", async () => {
  const a = await session(true), b = await session(true);
  assert.equal(a.output, b.output);
  assert.deepEqual(a.counts, b.counts);
  assert.equal(a.guest, b.guest);
  assert.equal(a.emulated, b.emulated);
});

Deno.test("tinyos: boot.ts --smp 2 (the embedded tinyos, under the hypervisor) brings 2 harts online and spreads spin over both", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const s = await promptSession(
    Deno.execPath(),
    ["run", "-A", "boot.ts", "--smp", "2", "--clock", "virtual"],
    root,
    ["spin 2", "harts", "poweroff"],
  );
  const text = s.stdout.replaceAll("\r\n", "\n");
  assert.equal(s.code, 0, `${text}\n${s.stderr}`);
  assert.match(text, /^tinyos: 2 harts online$/m);
  assert.match(text, /^spin: done, ran on harts 0 1$/m);
  const table = text.slice(text.indexOf("$ harts\n") + 8, text.indexOf("\n$ poweroff"));
  for (const row of parseHarts(table)) assert.ok(row.ticks >= 1 && row.started >= 1, table);
  assert.match(text, /tinyos: poweroff requested by pid 1 \(sh\)/);
});

Deno.test(hostTest(
  "tinyos on QEMU -smp 3: 3 harts online, spin runs on each, poweroff exits 0",
  missing(QEMU),
  async () => {
    // QEMU's harts are host threads, which a loaded host may starve for a while: three
    // rounds of spin, and every hart must have run a spinner in one of them.
    const s = await promptSession(
      QEMU,
      [
        ...["-M", "virt", "-m", "128M", "-smp", "3", "-nographic", "-bios", "none"],
        ...["-cpu", QEMU_CPU, "-kernel", TINYOS_ELF],
      ],
      ".",
      ["spin 3", "spin 3", "spin 3", "harts", "ps", "poweroff"],
    );
    const text = s.stdout.replaceAll("\r\n", "\n");
    assert.equal(s.code, 0, text);
    assert.match(text, /^tinyos: 3 harts online$/m);
    assert.match(text, /^spin: started pids 3 to 5$/m);
    const seen = [...text.matchAll(/^spin: done, ran on harts ([\d ]+)$/gm)];
    assert.equal(seen.length, 3, text);
    assert.deepEqual([...new Set(seen.flatMap((m) => m[1].split(" ")))].sort(), ["0", "1", "2"]);
    const table = text.slice(text.indexOf("$ harts\n") + 8, text.indexOf("\n$ ps"));
    for (const row of parseHarts(table)) assert.ok(row.ticks >= 1 && row.started >= 1, table);
    assert.match(text, /^PID +STATE +TICKS +HART +NAME$/m);
    assert.match(text, /^1 +running +\d+ +[0-2] +sh$/m);
    assert.match(text, /tinyos: poweroff requested by pid 1 \(sh\)/);
  },
));
