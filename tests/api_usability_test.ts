/**
 * The scripting API as a new user meets it (issue 14), through mod.ts only:
 * watch hooks after the access with old and new values (including accesses
 * the hypervisor emulates), `until` across other stops, pc hooks on step(),
 * the embedded default guest and halt messages, the console stream's flush
 * and close, topics that need the hypervisor, and argument checks.
 */

import assert from "node:assert/strict";
import { createMachine, hex, type Machine, MachineConfigError, type WatchHit } from "../mod.ts";

const MODES = ["hypervisor", "bare"] as const;
type Mode = typeof MODES[number];
/** Generous bound on a run to tinyos's prompt (it takes about 600k instructions). */
const BOOT = 50_000_000;

/** tinyos, the default guest, with instruction-count time: every run is the same. */
function tinyos(mode: Mode): Machine {
  return createMachine({ clock: "virtual", hypervisor: mode === "hypervisor" });
}

for (const mode of MODES) {
  Deno.test(`api: watch fires after the store, with old and new values; an until loop ends at the prompt (${mode})`, async () => {
    const m = tinyos(mode);
    const nextpid = m.symbol("nextpid"); // proc.c: p->pid = nextpid++ for sh and the ticker
    const hits: { hit: WatchHit; memory: number; pc: number }[] = [];
    const w = m.watch(nextpid, 4, (hit, mm) => {
      hits.push({ hit: { ...hit }, memory: mm.readVirtual(nextpid, 1)[0], pc: mm.pc });
      return true;
    });
    const stops: string[] = [];
    let r;
    while ((r = await m.run({ until: "$ ", maxInstructions: BOOT })).stop === "watchpoint") {
      stops.push(r.stop);
    }
    assert.equal(r.stop, "until");
    assert.deepEqual(stops, ["watchpoint", "watchpoint"]);
    assert.deepEqual(hits.map((h) => [h.hit.old, h.hit.value]), [[1n, 2n], [2n, 3n]]);
    for (const { hit, memory, pc } of hits) {
      assert.equal(hit.write, true);
      assert.equal(hit.size, 4);
      assert.equal(hit.addr, nextpid);
      assert.equal(BigInt(memory), hit.value, "memory holds the new value inside the hook");
      assert.ok(pc === hit.pc + 2 || pc === hit.pc + 4, `${hex(pc)} follows ${hex(hit.pc)}`);
    }
    w.remove();
    // Loads: sys_uptime reads the kernel's tick count; the value read is also the value before.
    const ticks = m.symbol("ticks");
    const reads: WatchHit[] = [];
    const rw = m.watch(ticks, 8, (hit) => void reads.push({ ...hit }), { read: true });
    m.send("uptime\n");
    await m.run({ until: "$ ", maxInstructions: BOOT });
    rw.remove();
    assert.ok(reads.length >= 1);
    for (const hit of reads) {
      assert.equal(hit.write, false);
      assert.equal(hit.old, hit.value);
      assert.equal(hit.value, m.readU64(ticks));
    }
  });

  Deno.test(`api: watch sees device stores, which the hypervisor emulates (${mode})`, async () => {
    const m = tinyos(mode);
    await m.run({ until: "$ ", maxInstructions: BOOT });
    const thr: WatchHit[] = [];
    const w = m.watch(0x1000_0000, 1, (hit) => void thr.push({ ...hit }));
    const before = m.host.exitCounts.get("mmio") ?? 0;
    m.send("echo watched\n");
    assert.equal((await m.run({ until: "$ ", maxInstructions: BOOT })).stop, "until");
    w.remove();
    const text = String.fromCharCode(...thr.map((h) => Number(h.value)));
    assert.equal(text, "echo watched\r\nwatched\r\n$ ", "every byte the UART sent, in order");
    assert.ok(
      thr.every((h) => h.old === null && h.write && h.size === 1),
      "a device has no old value",
    );
    if (mode === "hypervisor") {
      assert.ok((m.host.exitCounts.get("mmio") ?? 0) > before, "the stores were emulated");
    }
  });

  Deno.test(`api: run({ until }) keeps its window across breakpoint stops (${mode})`, async () => {
    const m = tinyos(mode);
    // The shell reads its input only after printing the prompt: each read stops the run.
    const bp = m.hookPc(m.symbol("sys_read"), () => true);
    let r, afterPrompt = 0;
    while ((r = await m.run({ until: "$ ", maxInstructions: BOOT })).stop === "breakpoint") {
      if (m.consoleText.endsWith("$ ")) afterPrompt++;
    }
    assert.equal(r.stop, "until");
    assert.equal(afterPrompt, 1, "the breakpoint stop after the prompt did not lose the match");
    assert.equal(r.instructions, 0, "the coinciding until is reported at once");
    bp.remove();
    // Matched: the next run with the same text opens a new window.
    assert.equal((await m.run({ until: "$ ", maxInstructions: 100_000 })).stop, "limit");
    m.send("echo x\n");
    assert.equal((await m.run({ until: "$ ", maxInstructions: BOOT })).stop, "until");
  });

  Deno.test(`api: step() fires the pc hooks of the instruction it arrives at, once (${mode})`, async () => {
    // The same deterministic run twice: first learn the path, then hook a pc on it.
    const path = async (m: Machine) => {
      await m.run({ until: "$ ", maxInstructions: BOOT });
      const bp = m.hookPc(m.symbol("sys_uptime"), () => true);
      m.send("uptime\n");
      assert.equal((await m.run({ maxInstructions: BOOT })).stop, "breakpoint");
      bp.remove();
    };
    const a = tinyos(mode);
    await path(a);
    const pcs = [await a.step(), await a.step(), await a.step()];
    const b = tinyos(mode);
    await path(b);
    const seen: number[] = [];
    b.hookPc(pcs[1], (mm) => void seen.push(mm.pc));
    assert.equal(await b.step(), pcs[0]);
    assert.deepEqual(seen, [], "not yet arrived");
    assert.equal(await b.step(), pcs[1]);
    assert.deepEqual(seen, [pcs[1]], "fired on arrival, before the instruction ran");
    assert.equal(await b.step(), pcs[2]);
    assert.deepEqual(seen, [pcs[1]], "leaving the hooked pc does not fire it again");
    // A hook that redirects on arrival: step returns where it sent the guest.
    const c = tinyos(mode);
    await path(c);
    c.hookPc(pcs[0], (mm) => void (mm.pc = pcs[2]));
    assert.equal(await c.step(), pcs[2]);
  });

  Deno.test(`api: createMachine() boots the embedded tinyos; halts carry their message (${mode})`, async () => {
    const m = createMachine({ clock: "virtual", hypervisor: mode === "hypervisor" });
    assert.equal((await m.run({ until: "$ ", maxInstructions: BOOT })).stop, "until");
    assert.match(m.consoleText, /tinyos: booting/);
    m.send("poweroff\n");
    const r = await m.run({ maxInstructions: BOOT });
    assert.equal(r.stop, "halt");
    assert.equal(r.message, "guest poweroff");
    assert.deepEqual(m.halted, { reason: "poweroff", code: 0, message: "guest poweroff" });
    assert.throws(
      () => createMachine({ memory: 64 * 1024 * 1024, hypervisor: mode === "hypervisor" }),
      (e) => e instanceof MachineConfigError && /tinyos\) needs at least 128 MiB/.test(e.message),
    );
  });

  Deno.test(`api: m.stdout has every byte when run() resolves, and closes at the halt (${mode})`, async () => {
    const m = tinyos(mode);
    let text = "";
    const decoder = new TextDecoder();
    const reading = (async () => {
      for await (const chunk of m.stdout) text += decoder.decode(chunk, { stream: true });
      return "closed";
    })();
    await m.run({ until: "$ ", maxInstructions: BOOT });
    assert.equal(text, m.consoleText, "delivered before run() resolved");
    m.send("poweroff\n");
    assert.equal((await m.run({ maxInstructions: BOOT })).stop, "halt");
    let guard: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise((resolve) => guard = setTimeout(() => resolve("hang"), 10_000));
    assert.equal(await Promise.race([reading, hang]), "closed", "the halt closed the stream");
    clearTimeout(guard);
    assert.equal(text, m.consoleText);
    assert.match(text, /poweroff/);
    assert.equal(m.events.wants("console"), false, "closing unsubscribed it");
  });
}

Deno.test("api: a guest that crashes under the hypervisor halts with the panic's message", async () => {
  const m = createMachine({ kernel: { name: "zeros.bin", bytes: new Uint8Array(64) } });
  const r = await m.run({ maxInstructions: 1_000_000 });
  assert.equal(r.stop, "halt");
  assert.equal(r.reason, "error");
  assert.match(r.message!, /^guest double fault: exception \d+ .* at pc 0x0 /);
  assert.equal(m.halted?.message, r.message);
});
