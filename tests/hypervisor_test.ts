/**
 * Hypervisor behaviour beyond the guests' own tests: shadow-pool reclaim,
 * guest RAM placement settings, and the diagnostics of a guest that crashes itself.
 */

import assert from "node:assert/strict";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import { TINYOS_ELF } from "../scripts/build-tinyos.ts";
import { createMachine, type WatchHit } from "../mod.ts";
import { HANG_GUARD_MS } from "../scripts/host-tools.ts";

/** The UART's transmit register (QEMU virt's 16550 at 0x1000_0000). */
const UART_THR = 0x1000_0000;

/** Boots tinyos, runs `commands` at its prompt, returns the console text. */
async function tinyos(
  options: { shadowPages?: number; guestOffset?: number; memory?: number },
  commands: string[],
): Promise<{ text: string; m: ReturnType<typeof createHypervisorMachine> }> {
  let text = "";
  const m = createHypervisorMachine({
    kernel: { name: "tinyos.elf", bytes: Deno.readFileSync(TINYOS_ELF) },
    clock: "virtual",
    console: (b) => text += String.fromCharCode(b),
    ...options,
  });
  for (const cmd of ["", ...commands]) {
    const from = text.length;
    if (cmd) m.input(cmd + "\n");
    const r = await m.run({ until: "$ ", maxInstructions: 200_000_000 });
    assert.equal(m.hypervisor.panicReport, null);
    assert.ok(
      r.stop === "until" || text.includes("$ ", from),
      `no prompt after '${cmd}':\n${text}`,
    );
  }
  return { text, m };
}

Deno.test("a tiny shadow pool is reclaimed and refilled, never exhausted", async () => {
  const { text, m } = await tinyos({ shadowPages: 8 }, ["mem 64", "ps"]);
  assert.match(text, /64 page faults, 0 bad words, 64 pages freed: ok/);
  assert.ok(m.hypervisor.memory.shadow.pages.resets > 10, "the pool was reclaimed");
});

Deno.test("guest RAM placement follows guestOffset and memory", async () => {
  const offset = 0x200_0000, memory = 128 * 1024 * 1024;
  const { m } = await tinyos({ guestOffset: offset, memory }, ["echo placed"]);
  assert.equal(m.bus.ramSize, offset + memory);
  assert.equal(m.hypervisor.guest.windowBase, 0x8000_0000 + offset);
  assert.equal(m.hypervisor.guest.bus.ramSize, memory);
  // The default (README, DESIGN.md): the window at host offset 0x500_0000, so
  // guest-physical 0x8000_0000 is host-physical 0x8500_0000, in 128 MiB.
  const byDefault = createHypervisorMachine({});
  assert.equal(byDefault.hypervisor.guest.windowBase, 0x8500_0000);
  assert.equal(byDefault.hypervisor.guest.bus.ramSize, 128 * 1024 * 1024);
  assert.equal(byDefault.bus.ramSize, 0x500_0000 + 128 * 1024 * 1024);
  assert.throws(
    () => createHypervisorMachine({ guestOffset: 0x123000 }),
    /multiple of 2 MiB/,
  );
  assert.throws(() => createHypervisorMachine({ shadowPages: 2 }), /at least 4/);
});

Deno.test("a guest that hangs itself (wfi with mie = 0) ends the run with a report", async () => {
  // csrwi mie, 0; wfi; j . — hand-encoded, loaded raw at RAM base in virtual M-mode.
  const words = [0x30405073, 0x10500073, 0x0000006f];
  const bytes = new Uint8Array(new Uint32Array(words).buffer);
  const m = createHypervisorMachine({ kernel: { name: "hang.bin", bytes }, clock: "virtual" });
  const r = await m.run({ maxInstructions: 1_000_000, timeoutMs: HANG_GUARD_MS });
  assert.equal(r.stop, "halt");
  assert.equal(r.reason, "error");
  assert.ok(m.hypervisor.panicIsGuestFault);
  const report = m.hypervisor.panicReport ?? "";
  assert.match(report, /guest hang: wfi at pc 0x80000004 with mie = 0/);
  assert.match(report, /virtual mode M/);
  assert.match(report, /last exits/);
});

for (const hypervisor of [false, true]) {
  Deno.test(`watch() sees device stores, which the hypervisor emulates (tinyos's first console byte, ${hypervisor ? "hypervisor" : "bare"})`, async () => {
    const m = createMachine({
      kernel: { name: "tinyos.elf", bytes: Deno.readFileSync(TINYOS_ELF) },
      clock: "virtual",
      hypervisor,
    });
    const hits: WatchHit[] = [];
    m.watch(UART_THR, 1, (hit) => (hits.push(hit), true), { write: true });
    const r = await m.run({ maxInstructions: 50_000_000 });
    assert.equal(r.stop, "watchpoint");
    assert.equal(hits.length, 1);
    assert.equal(hits[0].addr, UART_THR);
    assert.equal(hits[0].write, true);
  });
}

Deno.test("the guest reads time without an exit where its counter enables allow it, and traps elsewhere", async () => {
  const elf = new URL("../guests/isa/build/counteren.elf", import.meta.url).pathname;
  const m = createHypervisorMachine({
    kernel: { name: "counteren.elf", bytes: Deno.readFileSync(elf) },
    clock: "virtual",
  });
  // Exits of rdtime (csrrs rd, time, x0: its bits are in the host's mtval), by kind.
  const timeExits = new Map<string, number>();
  m.events.on("exit", (e) => {
    if (e.tval >>> 20 === 0xc01 && (e.tval & 0xff07f) === 0x2073) {
      timeExits.set(e.kind, (timeExits.get(e.kind) ?? 0) + 1);
    }
  });
  const r = await m.run({ maxInstructions: 10_000_000, timeoutMs: HANG_GUARD_MS });
  assert.equal(r.stop, "halt");
  assert.equal(r.exitCode, 0, "counteren.elf passes under the hypervisor");
  // Its two permitted S/U-mode reads and the M-mode ones ran natively; its five
  // forbidden ones still reached the guest's handler as illegal instructions.
  assert.deepEqual([...timeExits], [["illegal-instruction", 5]]);
});
