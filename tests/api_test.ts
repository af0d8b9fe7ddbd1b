/**
 * The scripting facade (hypervisor/machine.ts): hooks and their filters, hook
 * removal leaving no listener behind, pause/resume/step, guest-view state
 * access bare and under the hypervisor, the console streams.
 */

import assert from "node:assert/strict";
import { createMachine, type Machine } from "../mod.ts";
import { tinyosElf } from "../guests/tinyos/image.ts";

const MODES = ["hypervisor", "bare"] as const;

function tinyos(mode: "bare" | "hypervisor"): Machine {
  return createMachine({
    kernel: { name: "tinyos.elf", bytes: tinyosElf() },
    clock: "virtual",
    hypervisor: mode === "hypervisor",
  });
}

async function toPrompt(m: Machine): Promise<void> {
  const r = await m.run({ until: "$ ", maxInstructions: 50_000_000 });
  assert.equal(r.stop, "until");
}

for (const mode of MODES) {
  Deno.test(`api: csr hook with filters sees the guest's satp writes, and removal unhooks (${mode})`, async () => {
    const m = tinyos(mode);
    const satp: bigint[] = [];
    let others = 0;
    const h = m.hook("csr", (e, mm) => {
      assert.equal(e.csr, 0x180);
      assert.ok(e.write);
      satp.push(mm.readCsr("satp")!);
    }, { csr: "satp", write: true });
    const o = m.hook("csr", () => others++, { csr: ["sepc", 0x142] });
    await toPrompt(m);
    assert.ok(satp.length >= 2, `satp written ${satp.length} times`);
    assert.ok(satp.some((v) => BigInt.asUintN(64, v) >> 60n === 8n), "the kernel turned Sv39 on");
    assert.equal(m.readCsr("satp"), satp.at(-1), "the last write is the current value");
    assert.ok(others > 0, "sepc/scause are read in the kernel's trap path");
    assert.ok(m.events.wants("csr"));
    h.remove();
    o.remove();
    assert.equal(h.active, false);
    assert.equal(m.events.wants("csr"), false, "no csr listener is left");
  });

  Deno.test(`api: mmio hook filtered by device and address (${mode})`, async () => {
    const m = tinyos(mode);
    const devices = new Set<string>();
    let uartWrites = 0;
    const h1 = m.hook("mmio", (e) => devices.add(e.device));
    const h2 = m.hook("mmio", (e) => {
      assert.equal(e.device, "uart0");
      assert.ok(e.addr >= 0x1000_0000 && e.addr < 0x1000_0008);
      uartWrites++;
    }, { device: "uart0", address: [0x1000_0000, 0x1000_0008], write: true });
    await toPrompt(m);
    assert.ok(devices.has("uart0") && devices.size >= 2, [...devices].join(","));
    assert.ok(uartWrites >= m.consoleText.length, "one THR write per console byte at least");
    h1.remove(), h2.remove();
    assert.equal(m.events.wants("mmio"), false);
  });

  Deno.test(`api: pause from a hook and from another task, then resume (${mode})`, async () => {
    const m = tinyos(mode);
    const topic = mode === "bare" ? "trap" : "guestTrap";
    let trapPc = -1;
    const h = m.hook(topic, (e, mm) => {
      trapPc = e.pc;
      mm.pause();
    }, { cause: 8 }); // the shell's first system call
    const r = await m.run({ until: "$ ", maxInstructions: 50_000_000 });
    assert.equal(r.stop, "pause");
    assert.ok(trapPc >= 0x4000_0000 && trapPc < 0x5000_0000, "an ecall from U-mode code");
    h.remove();
    assert.equal((await m.resume()).stop, "until", "resumed to the prompt");
    // From another task: the run yields to the event loop, so a timer can stop it.
    setTimeout(() => m.pause(), 20);
    const r2 = await m.run({ maxInstructions: 1e12 });
    assert.equal(r2.stop, "pause");
    assert.equal(m.halted, null);
  });

  Deno.test(`api: pc hook set after the code ran still fires; step; redirect (${mode})`, async () => {
    const m = tinyos(mode);
    await toPrompt(m);
    const addr = m.symbol("sys_uptime");
    let hits = 0;
    const bp = m.hookPc(addr, () => (hits++, true));
    m.send("uptime\n");
    const r = await m.run({ maxInstructions: 50_000_000 });
    assert.equal(r.stop, "breakpoint");
    assert.equal(m.pc, addr);
    assert.equal(m.priv, 1, "the kernel runs in (virtual) S-mode");
    // Stepping: one guest instruction at a time.
    const before = m.guestInstructions;
    const pcs = [await m.step(), await m.step(), await m.step()];
    assert.equal(m.guestInstructions, before + 3);
    assert.ok(
      pcs.every((pc) => pc > addr && pc < addr + 64),
      pcs.map((p) => p.toString(16)).join(),
    );
    bp.remove();
    assert.equal(m.vm.hart.breakpoints.size, 0, "no breakpoint left");
    assert.equal(m.vm.hart.onBreakpoint, null);
    assert.equal((await m.resume({ until: "$ ", maxInstructions: 50_000_000 })).stop, "until");
    assert.equal(hits, 1);
    // Redirect: sys_uptime returns at once, having copied out a made-up struct
    // uptime { ticks, time } that the hook writes to the shell's buffer (the
    // user's a0 at its ecall with a7 = SYS_uptime, 6).
    let buffer = -1;
    const ecall = m.hook(mode === "bare" ? "trap" : "guestTrap", (_, mm) => {
      if (mm.getReg("a7") === 6n) buffer = Number(mm.getReg("a0"));
    }, { cause: 8 });
    const redirect = m.hookPc(addr, (mm) => {
      const u = new DataView(new ArrayBuffer(16));
      u.setBigUint64(0, 4242n, true);
      u.setBigUint64(8, 123_456_789n, true); // 10 MHz time: 12.345 s
      mm.writeVirtual(buffer, new Uint8Array(u.buffer));
      mm.setReg("a0", 0);
      mm.pc = Number(BigInt.asIntN(64, mm.getReg("ra")));
    });
    const from = m.consoleText.length;
    m.send("uptime\n");
    assert.equal((await m.run({ until: "$ ", maxInstructions: 50_000_000 })).stop, "until");
    redirect.remove();
    ecall.remove();
    assert.equal(m.consoleText.slice(from), "uptime\r\nup 12.345 s, 4242 ticks\r\n$ ");
  });

  Deno.test(`api: guest-view state: registers, CSRs, memory through the guest page table (${mode})`, async () => {
    const m = tinyos(mode);
    await toPrompt(m);
    m.hookPc(m.symbol("sys_uptime"), () => true);
    m.send("uptime\n");
    assert.equal((await m.run({ maxInstructions: 50_000_000 })).stop, "breakpoint");
    assert.equal(m.getReg("sp"), m.getReg(2));
    assert.equal(m.getReg("x2"), m.getReg(2));
    assert.equal(m.regs().sp, m.getReg("sp"));
    assert.throws(() => m.getReg("q7"), RangeError);
    const saved = m.getReg("t6");
    m.setReg("t6", 0x1234_5678_9abc_def0n);
    assert.equal(m.getReg(31), 0x1234_5678_9abc_def0n);
    m.setReg("t6", saved);
    const satp = m.readCsr("satp")!;
    assert.equal(BigInt.asUintN(64, satp) >> 60n, 8n, "Sv39");
    assert.equal(m.readCsr(0x180), satp);
    // The kernel's text through the guest's own table: the instruction at pc.
    const pa = m.translate(m.pc)!;
    assert.notEqual(pa, null);
    assert.deepEqual(m.readVirtual(m.pc, 4), m.readPhysical(pa, 4));
    // User memory through the same table: the shell's code at 0x4000_0000 is mapped.
    const user = m.translate(0x4000_0000);
    assert.notEqual(user, null);
    assert.notEqual(user, 0x4000_0000);
    // Writes reach guest-physical memory.
    const scratch = m.readVirtual(0x4000_0000, 8);
    m.writeVirtual(0x4000_0000, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    assert.deepEqual([...m.readPhysical(user!, 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
    m.writeVirtual(0x4000_0000, scratch);
    assert.throws(() => m.readVirtual(0x7000_0000_0, 4), RangeError);
    if (mode === "hypervisor") {
      assert.equal(m.host.priv, 0, "the guest runs in host U-mode");
      assert.notEqual(m.host.readCsr("satp"), satp, "the host runs on the shadow table");
      assert.ok((m.host.exitCounts.get("ecall") ?? 0) > 0);
      assert.ok(m.host.guestTraps.size > 0);
    } else {
      assert.equal(m.host.priv, 1);
      assert.equal(m.host.exitCounts.size, 0);
    }
  });

  Deno.test(`api: console streams (${mode})`, async () => {
    const m = tinyos(mode);
    const reader = m.stdout.getReader();
    let text = "";
    const reading = (async () => {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    await toPrompt(m);
    const writer = m.stdin.getWriter();
    await writer.write("echo streams work\n");
    assert.equal((await m.run({ until: "$ ", maxInstructions: 50_000_000 })).stop, "until");
    await new Promise((r) => setTimeout(r, 0));
    await reader.cancel();
    await reading;
    assert.ok(text.includes("tinyos"), "boot output came through the stream");
    assert.ok(text.includes("streams work\r\n$ "), JSON.stringify(text.slice(-80)));
    assert.equal(m.events.wants("console"), false, "cancelling the stream unsubscribed it");
  });

  Deno.test(`api: removing any hook leaves no listener, breakpoint or vCPU hook (${mode})`, () => {
    const m = tinyos(mode);
    for (const t of m.topics) {
      const h = m.hook(t, () => {});
      assert.ok(m.events.wants(t));
      h.remove();
      h.remove(); // twice is harmless
      assert.equal(m.events.wants(t), false, t);
    }
    const pc = m.hookPc([0x8000_0000, 0x8000_0010], () => {});
    assert.equal(m.vm.hart.breakpoints.size, 8);
    pc.remove();
    assert.equal(m.vm.hart.breakpoints.size, 0);
    const w1 = m.watch(0x8000_1000, 8, () => {});
    const w2 = m.watch(0x8000_1000, 8, () => {});
    w1.remove();
    assert.equal(m.vm.hart.watchpoints.length, 1, "the other watch hook keeps its watchpoint");
    w2.remove();
    assert.equal(m.vm.hart.watchpoints.length, 0);
    assert.equal(m.vm.hart.onWatchpoint, null);
    const ex = m.hookEcall(() => undefined);
    ex.remove();
    assert.equal(m.events.wants("trap"), false);
    if (m.hypervisor) assert.equal(m.hypervisor.guest.vcpu.onException, null);
    assert.throws(() => m.hook("halt", () => {}, { cause: 1 }), TypeError);
  });
}

Deno.test("api: an exception hook turns a guest page fault into an access fault (hypervisor)", async () => {
  const m = tinyos("hypervisor");
  await toPrompt(m);
  const seen: number[] = [];
  const h = m.hookException((e) => {
    seen.push(e.cause);
    e.cause = e.cause === 13 ? 5 : 7;
  }, [13, 15]);
  m.send("mem 1\n");
  const r = await m.run({ until: "powering off", maxInstructions: 50_000_000 });
  h.remove();
  assert.equal(r.stop === "until" || r.stop === "halt", true);
  assert.equal(seen.length, 1);
  assert.match(m.consoleText, /killed: scause 0x[57] /);
});

for (const mode of MODES) {
  Deno.test(`api: loads put raw files at guest-physical addresses, overlaps are refused (${mode})`, () => {
    const kernel = { name: "tinyos.elf", bytes: tinyosElf() };
    const blob = new Uint8Array(8192).map((_, i) => (i * 31) & 0xff);
    const m = createMachine({
      kernel,
      loads: [{ file: { name: "blob.bin", bytes: blob }, address: 0x8400_1000 }],
      hypervisor: mode === "hypervisor",
    });
    assert.deepEqual(m.readPhysical(0x8400_1000, blob.length), blob);
    assert.deepEqual([...m.readPhysical(0x8400_0ff8, 8)], [0, 0, 0, 0, 0, 0, 0, 0]);
    // tinyos's first segment starts at RAM base.
    assert.throws(
      () =>
        createMachine({
          kernel,
          loads: [{ file: { name: "blob.bin", bytes: blob }, address: 0x8000_0000 }],
          hypervisor: mode === "hypervisor",
        }),
      /^MachineConfigError: blob\.bin: 0x80000000\.\.0x80002000 overlaps tinyos\.elf/,
    );
  });
}

for (const mode of MODES) {
  Deno.test(`api: the default hart has F and D as QEMU's virt CPU; isa: rv64imac drops them (${mode})`, () => {
    const kernel = { name: "tinyos.elf", bytes: tinyosElf() };
    const FD = (1n << 3n) | (1n << 5n); // misa D and F
    const hypervisor = mode === "hypervisor";
    assert.equal(createMachine({ kernel, hypervisor }).readCsr("misa")! & FD, FD);
    assert.equal(createMachine({ kernel, hypervisor, isa: "rv64imac" }).readCsr("misa")! & FD, 0n);
  });
}

for (const mode of MODES) {
  Deno.test(`api: an exception hook completes the shell's page faults itself (${mode})`, async () => {
    const m = tinyos(mode);
    await toPrompt(m);
    // Every store fault of `mem 1` is completed by skipping the store: the kernel
    // never sees them (0 page faults while the shell writes), so the stores are
    // lost; the loads that follow fault to the kernel (not hooked), which maps
    // a zero page and frees it again with the heap.
    let skipped = 0;
    const h = m.hookException((e, mm) => {
      const insn = mm.readVirtual(e.pc, 2);
      mm.pc = e.pc + ((insn[0] & 3) === 3 ? 4 : 2);
      e.handled = true;
      skipped++;
    }, 15);
    const from = m.consoleText.length;
    m.send("mem 1\n");
    assert.equal((await m.run({ until: "$ ", maxInstructions: 50_000_000 })).stop, "until");
    h.remove();
    assert.equal(skipped, 512, "one fault per dword store of the page");
    // pattern(0, 0) is 0, so the first word of a zero page is right.
    assert.match(
      m.consoleText.slice(from),
      /^mem 1\r\nmem: 1 pages at 0x[\da-f]+: 0 page faults, 511 bad words, 0 pages freed: FAILED\r\n\$ $/,
    );
  });

  Deno.test(`api: a watch hook fires on the kernel's input line buffer, and run() stops with watchpoint (${mode})`, async () => {
    const m = tinyos(mode);
    await toPrompt(m);
    // tinyos's console keeps typed bytes in `cons.buf` (128 bytes, at the start of `cons`).
    const buf = m.symbol("cons");
    let counted = 0;
    const count = m.watch(buf, 128, () => void counted++);
    m.send("echo hi\n");
    assert.equal((await m.run({ until: "$ ", maxInstructions: 50_000_000 })).stop, "until");
    count.remove();
    assert.equal(counted, "echo hi\n".length, "one store per typed byte");
    let fired = 0;
    const stop = m.watch(buf, 128, () => (fired++, true));
    m.send("ps\n");
    const r = await m.run({ until: "$ ", maxInstructions: 50_000_000 });
    stop.remove();
    assert.equal(r.stop, "watchpoint");
    assert.equal(fired, 1);
    assert.ok(!m.consoleText.includes("PID"), "stopped at the first typed byte");
    assert.equal((await m.resume()).stop, "until", "resumed to the prompt");
    assert.match(m.consoleText, /ps\r\nPID +STATE/);
  });
}

Deno.test("api: exit and guestTrap filters (kind, vpriv, interrupt) pass exactly the matching events (hypervisor)", async () => {
  const m = tinyos("hypervisor");
  const exits: { kind: string; vpriv: number }[] = [];
  const traps: { interrupt: boolean; from: number }[] = [];
  let userEcalls = 0, kernelExits = 0, interrupts = 0, userTraps = 0;
  const hooks = [
    m.hook("exit", (e) => void exits.push({ kind: e.kind, vpriv: e.vpriv })),
    m.hook("guestTrap", (e) => void traps.push({ interrupt: e.interrupt, from: e.from })),
    m.hook("exit", () => void userEcalls++, { kind: "ecall", vpriv: 0 }),
    m.hook("exit", () => void kernelExits++, { vpriv: [1, 3] }),
    m.hook("guestTrap", () => void interrupts++, { interrupt: true }),
    m.hook("guestTrap", () => void userTraps++, { vpriv: 0 }),
  ];
  await toPrompt(m);
  m.send("uptime\n");
  assert.equal((await m.run({ until: "$ ", maxInstructions: 50_000_000 })).stop, "until");
  for (const h of hooks) h.remove();
  const count = <T>(list: T[], f: (x: T) => boolean) => list.filter(f).length;
  assert.equal(userEcalls, count(exits, (e) => e.kind === "ecall" && e.vpriv === 0));
  assert.equal(kernelExits, count(exits, (e) => e.vpriv === 1 || e.vpriv === 3));
  assert.equal(interrupts, count(traps, (t) => t.interrupt));
  assert.equal(userTraps, count(traps, (t) => t.from === 0));
  // Each filter kept some events and dropped others.
  for (
    const [n, all] of [[userEcalls, exits], [kernelExits, exits], [interrupts, traps]] as const
  ) {
    assert.ok(n > 0 && n < all.length, `${n} of ${all.length}`);
  }
  assert.ok(userTraps > 0 && userTraps < traps.length, `${userTraps} of ${traps.length}`);
});

for (const mode of MODES) {
  Deno.test(`api: writeCsr and writePhysical change the guest's state; run() stops with timeout (${mode})`, async () => {
    const m = tinyos(mode);
    await toPrompt(m);
    assert.equal(m.writeCsr("sscratch", 0x1234_5678_9abc_def0n), true);
    assert.equal(m.readCsr(0x140), 0x1234_5678_9abc_def0n);
    // Guest-physical 0x8700_0000 is in the host's RAM at the window offset under the hypervisor.
    const bytes = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
    m.writePhysical(0x8700_0000, bytes);
    assert.deepEqual(m.readPhysical(0x8700_0000, 4), bytes);
    const host = 0x700_0000 + (mode === "hypervisor" ? 0x500_0000 : 0);
    assert.deepEqual(m.vm.bus.ram.subarray(host, host + 4), bytes);
    // The shell waits for input: nothing but the wall-clock limit ends this run.
    const r = await m.run({ maxInstructions: 1e15, timeoutMs: 50 });
    assert.equal(r.stop, "timeout");
    assert.equal(m.halted, null);
  });
}
