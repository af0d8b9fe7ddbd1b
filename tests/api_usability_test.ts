/**
 * The scripting API as a new user meets it (issue 14), through mod.ts only:
 * watch hooks after the access with old and new values (including accesses
 * the hypervisor emulates), `until` across other stops, pc hooks on step(),
 * the embedded default guest and halt messages, the console stream's flush
 * and close, topics that need the hypervisor, and argument checks.
 */

import assert from "node:assert/strict";
import { createMachine, hex, type Machine, MachineConfigError, type WatchHit } from "../mod.ts";
import { buildGuests } from "../scripts/build-guests.ts";

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
    assert.equal(r.guestInstructions, 0, "the coinciding until is reported at once");
    bp.remove();
    // Matched: the next run with the same text opens a new window.
    assert.equal((await m.run({ until: "$ ", maxInstructions: 100_000 })).stop, "limit");
    m.send("echo x\n");
    assert.equal((await m.run({ until: "$ ", maxInstructions: BOOT })).stop, "until");
  });

  Deno.test(`api: run({ until }) finds text printed across many short runs, where it ends (${mode})`, async () => {
    // Learn the boot's output, then look for its last line's text in runs of 100
    // instructions: the UART prints it a byte at a time, so it straddles runs, and
    // each run looks only at what is new since the last (and the text's length before).
    const a = tinyos(mode);
    assert.equal((await a.run({ until: "$ ", maxInstructions: BOOT })).stop, "until");
    const text = a.consoleText.trimEnd().split("\n").at(-2)!.trim();
    assert.ok(text.length >= 8, `a line to look for: ${JSON.stringify(text)}`);
    const b = tinyos(mode);
    let r, runs = 0, before = 0;
    while (
      (r = await b.run({ until: text, maxInstructions: 100 })).stop === "limit" && runs < 1e5
    ) {
      runs++, before = b.consoleText.length;
    }
    assert.equal(r.stop, "until");
    assert.ok(runs > 1000, `${runs} runs`);
    const end = b.consoleText.indexOf(text) + text.length;
    assert.ok(end > before, "found by the run that printed its end, not later");
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

for (const mode of MODES) {
  Deno.test(`api: watch sees M-mode accesses made through MPRV, which the hypervisor emulates (${mode})`, async () => {
    await buildGuests();
    const bytes = Deno.readFileSync(new URL("../guests/isa/build/mprv.elf", import.meta.url));
    const m = createMachine({
      kernel: { name: "mprv.elf", bytes },
      clock: "virtual",
      hypervisor: mode === "hypervisor",
    });
    // Test cases 1 and 2 read `data` and write `data + 8` through the S gigapage at 0x4000_0000.
    const va = 0x4000_0000 + m.symbol("data") - 0x8000_0000;
    const hits: WatchHit[] = [];
    m.watch(va, 16, (hit) => void hits.push({ ...hit }), { read: true, write: true });
    // Through the U gigapage at 0xc000_0000, cases 3 (S without SUM) and 7 (MPP=M: a physical
    // hole) fault, and cases 4 and 5 load: a faulting access is not reported.
    const uva = va + 0x8000_0000;
    const loads: WatchHit[] = [];
    m.watch(uva, 8, (hit) => void loads.push({ ...hit }), { read: true });
    const r = await m.run({ maxInstructions: 1_000_000 });
    assert.equal(r.exitCode, 0, `mprv.elf passes: ${r.stop} ${r.message}`);
    assert.deepEqual(
      hits.map((h) => [h.addr - va, h.write, h.old, h.value]),
      [[0, false, 0x1122334455667788n, 0x1122334455667788n], [8, true, 0n, 0x77n]],
    );
    assert.deepEqual(loads.map((h) => [h.addr, h.value]), [[uva, 0x1122334455667788n], [
      uva,
      0x1122334455667788n,
    ]]);
    if (mode === "hypervisor") assert.ok((m.host.exitCounts.get("mprv") ?? 0) >= 2, "emulated");
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

for (const mode of MODES) {
  Deno.test(`api: hooks on the hypervisor's topics are refused on a bare machine (${mode})`, () => {
    const m = tinyos(mode);
    const expected = mode === "bare"
      ? ["trap", "csr", "mmio", "irq", "console", "halt"]
      : ["trap", "exit", "guestTrap", "csr", "mmio", "irq", "console", "halt"];
    assert.deepEqual(m.topics, expected);
    for (const topic of ["exit", "guestTrap"] as const) {
      if (mode === "hypervisor") {
        m.hook(topic, () => {}).remove();
        continue;
      }
      assert.throws(
        () => m.hook(topic, () => {}),
        (e) =>
          e instanceof RangeError &&
          e.message.startsWith(`Machine.hook: topic '${topic}' is published by the hypervisor`),
      );
      assert.equal(m.events.wants(topic), false);
    }
  });
}

/**
 * Every entry point of the facade with a wrong argument, as plain JavaScript could
 * pass it: the error's class and its message (which names the argument and what it
 * expects). `as never` stands for "whatever a script passes".
 */
const BAD_INPUT: [string, (m: Machine) => unknown, ErrorConstructor, RegExp][] = [
  [
    "config",
    () => createMachine("tinyos" as never),
    TypeError,
    /^createMachine: config must be an object, not "tinyos"$/,
  ],
  [
    "kernel",
    () => createMachine({ kernel: "tinyos.elf" as never }),
    TypeError,
    /^createMachine: config\.kernel must be \{ name: string, bytes: Uint8Array \}, not "tinyos\.elf"$/,
  ],
  [
    "kernel bytes",
    () => createMachine({ kernel: { name: "k" } as never }),
    TypeError,
    /^createMachine: config\.kernel\.bytes must be a Uint8Array, not undefined$/,
  ],
  [
    "jit",
    () => createMachine({ jit: "on" as never }),
    TypeError,
    /^createMachine: config\.jit must be a boolean, not "on"$/,
  ],
  [
    "jitThreshold",
    () => createMachine({ jitThreshold: 0 }),
    RangeError,
    /^createMachine: config\.jitThreshold must be a positive integer up to 65534, not 0$/,
  ],
  [
    "bios name",
    () => createMachine({ bios: { bytes: new Uint8Array(4) } as never }),
    TypeError,
    /config\.bios\.name must be a string/,
  ],
  [
    "initrd",
    () => createMachine({ initrd: [] as never }),
    TypeError,
    /config\.initrd must be \{ name/,
  ],
  [
    "append",
    () => createMachine({ append: 1 as never }),
    TypeError,
    /config\.append must be a string, not 1$/,
  ],
  [
    "loads",
    () => createMachine({ loads: {} as never }),
    TypeError,
    /config\.loads must be an array of \{ file, address \}/,
  ],
  [
    "loads address",
    () =>
      createMachine({ loads: [{ file: { name: "a", bytes: new Uint8Array(1) }, address: -1 }] }),
    RangeError,
    /config\.loads\[0\]\.address must be a non-negative integer, not -1$/,
  ],
  [
    "unknown field",
    () => createMachine({ kernal: {} } as never),
    TypeError,
    /^createMachine: unknown config field 'kernal' \(it has: bios, kernel, /,
  ],
  [
    "memory",
    () => createMachine({ memory: "128M" as never }),
    TypeError,
    /config\.memory must be a positive integer, not "128M"$/,
  ],
  [
    "hypervisor",
    () => createMachine({ hypervisor: "no" as never }),
    TypeError,
    /config\.hypervisor must be a boolean, not "no"$/,
  ],
  [
    "guestOffset",
    () => createMachine({ guestOffset: 1.5 }),
    RangeError,
    /config\.guestOffset must be a non-negative integer, not 1\.5$/,
  ],
  [
    "shadowPages",
    () => createMachine({ shadowPages: 0 }),
    RangeError,
    /config\.shadowPages must be a positive integer, not 0$/,
  ],
  [
    "disk",
    () => createMachine({ disk: new Uint8Array(512) as never }),
    TypeError,
    /config\.disk must be an object, not a Uint8Array$/,
  ],
  [
    "clock",
    () => createMachine({ clock: "fast" as never }),
    RangeError,
    /config\.clock must be one of 'host', 'virtual', not "fast"$/,
  ],
  [
    "rtcBase",
    () => createMachine({ rtcBase: "2026-01-01" as never }),
    TypeError,
    /config\.rtcBase must be an integer, not "2026-01-01"$/,
  ],
  [
    "console",
    () => createMachine({ console: true as never }),
    TypeError,
    /config\.console must be a function, not true$/,
  ],
  [
    "run options",
    (m) => m.run(5 as never),
    TypeError,
    /^Machine\.run: options must be an object, not 5$/,
  ],
  [
    "run field",
    (m) => m.run({ untill: "$ " } as never),
    TypeError,
    /^Machine\.run: unknown options field 'untill' \(it has: until, maxInstructions, timeoutMs\)$/,
  ],
  [
    "run until",
    (m) => m.run({ until: 36 as never }),
    TypeError,
    /options\.until must be a string, not 36$/,
  ],
  [
    "run until empty",
    (m) => m.run({ until: "" }),
    RangeError,
    /options\.until must be a non-empty string/,
  ],
  [
    "run limit",
    (m) => m.run({ maxInstructions: -1 }),
    RangeError,
    /options\.maxInstructions must be a number of at least 0, not -1$/,
  ],
  [
    "run timeout",
    (m) => m.run({ timeoutMs: "1s" as never }),
    TypeError,
    /options\.timeoutMs must be a number of at least 0, not "1s"$/,
  ],
  [
    "resume",
    (m) => m.resume(null as never),
    TypeError,
    /^Machine\.resume: options must be an object, not null$/,
  ],
  [
    "send",
    (m) => m.send(42 as never),
    TypeError,
    /^Machine\.send: input must be a string or a Uint8Array, not 42$/,
  ],
  [
    "getReg",
    (m) => m.getReg(undefined as never),
    TypeError,
    /^no register undefined \(use 0\.\.31, x0\.\.x31 or an ABI name\)$/,
  ],
  ["getReg name", (m) => m.getReg("q7"), RangeError, /^no register "q7"/],
  [
    "setReg value",
    (m) => m.setReg("a0", "1" as never),
    TypeError,
    /^Machine\.setReg: value must be an integer, not "1"$/,
  ],
  ["pc", (m) => (m.pc = 0.5), RangeError, /^Machine\.pc: the new pc must be an integer, not 0\.5$/],
  [
    "readCsr",
    (m) => m.readCsr({} as never),
    TypeError,
    /^no CSR an object \(Object\) \(use a name such as satp/,
  ],
  [
    "writeCsr value",
    (m) => m.writeCsr("mscratch", 1.5),
    RangeError,
    /^Machine\.writeCsr: value must be an integer, not 1\.5$/,
  ],
  [
    "translate",
    (m) => m.translate("0x80000000" as never),
    TypeError,
    /^Machine\.translate: va must be an integer, not "0x80000000"$/,
  ],
  [
    "readPhysical",
    (m) => m.readPhysical(0x8000_0000, -4),
    RangeError,
    /^Machine\.readPhysical: length must be a non-negative integer, not -4$/,
  ],
  [
    "writePhysical",
    (m) => m.writePhysical(0x8000_0000, [1, 2] as never),
    TypeError,
    /^Machine\.writePhysical: bytes must be a Uint8Array, not an array$/,
  ],
  [
    "readVirtual",
    (m) => m.readVirtual(undefined as never, 4),
    TypeError,
    /^Machine\.readVirtual: va must be an integer, not undefined$/,
  ],
  [
    "writeVirtual",
    (m) => m.writeVirtual(0x8000_0000, "ab" as never),
    TypeError,
    /^Machine\.writeVirtual: bytes must be a Uint8Array, not "ab"$/,
  ],
  [
    "readU64",
    (m) => m.readU64(NaN),
    RangeError,
    /^Machine\.readU64: va must be an integer, not NaN$/,
  ],
  [
    "readString",
    (m) => m.readString(0x8000_0000, -1),
    RangeError,
    /^Machine\.readString: max must be a non-negative integer, not -1$/,
  ],
  [
    "symbol",
    (m) => m.symbol(0x8000_0000 as never),
    TypeError,
    /^Machine\.symbol: name must be a string, not 2147483648$/,
  ],
  [
    "hook topic",
    (m) => m.hook("traps" as never, () => {}),
    RangeError,
    /^Machine\.hook: topic must be one of 'trap', 'exit', 'guestTrap', 'csr', 'mmio', 'irq', 'console', 'halt', not "traps"$/,
  ],
  [
    "hook fn",
    (m) => m.hook("trap", "print" as never),
    TypeError,
    /^Machine\.hook: fn must be a function, not "print"$/,
  ],
  [
    "hook filter",
    (m) => m.hook("trap", () => {}, 8 as never),
    TypeError,
    /^Machine\.hook: filter must be an object, not 8$/,
  ],
  [
    "filter field",
    (m) => m.hook("halt", () => {}, { cause: 1 }),
    TypeError,
    /^hook filter field 'cause' does not apply to topic halt/,
  ],
  [
    "filter cause",
    (m) => m.hook("trap", () => {}, { cause: ["8"] as never }),
    TypeError,
    /^Machine\.hook: filter\.cause\[0\] must be a non-negative integer, not "8"$/,
  ],
  [
    "filter interrupt",
    (m) => m.hook("trap", () => {}, { interrupt: 1 as never }),
    TypeError,
    /^Machine\.hook: filter\.interrupt must be a boolean, not 1$/,
  ],
  ["filter csr", (m) => m.hook("csr", () => {}, { csr: "sapt" }), RangeError, /^no CSR "sapt"/],
  [
    "filter write",
    (m) => m.hook("csr", () => {}, { write: "yes" as never }),
    TypeError,
    /filter\.write must be a boolean, not "yes"$/,
  ],
  [
    "filter address",
    (m) => m.hook("mmio", () => {}, { address: [0x2000, 0x1000] }),
    RangeError,
    /^Machine\.hook: filter\.address must be an address or \[start, end\) with start < end, not an array$/,
  ],
  [
    "filter device",
    (m) => m.hook("mmio", () => {}, { device: 0 as never }),
    TypeError,
    /filter\.device must be a string, not 0$/,
  ],
  [
    "filter kind",
    (m) => m.hook("trap", () => {}, { kind: "ecall" }),
    TypeError,
    /^hook filter field 'kind' does not apply to topic trap/,
  ],
  [
    "hookPc addr",
    (m) => m.hookPc("main" as never, () => {}),
    TypeError,
    /^Machine\.hookPc: addr must be an address or \[start, end\), not "main"$/,
  ],
  [
    "hookPc range",
    (m) => m.hookPc([0x8000_0000, 0x8100_0000], () => {}),
    RangeError,
    /^pc hook range of 16777216 bytes: at most 65536$/,
  ],
  [
    "hookPc fn",
    (m) => m.hookPc(0x8000_0000, undefined as never),
    TypeError,
    /^Machine\.hookPc: fn must be a function, not undefined$/,
  ],
  [
    "watch addr",
    (m) => m.watch(undefined as never, 8, () => {}),
    TypeError,
    /^Machine\.watch: addr must be an integer, not undefined$/,
  ],
  [
    "watch length",
    (m) => m.watch(0x8000_0000, 0, () => {}),
    RangeError,
    /^Machine\.watch: length must be a positive integer, not 0$/,
  ],
  [
    "watch fn",
    (m) => m.watch(0x8000_0000, 8, null as never),
    TypeError,
    /^Machine\.watch: fn must be a function, not null$/,
  ],
  [
    "watch kinds",
    (m) => m.watch(0x8000_0000, 8, () => {}, { reads: true } as never),
    TypeError,
    /^Machine\.watch: unknown kinds field 'reads' \(it has: read, write\)$/,
  ],
  [
    "watch nothing",
    (m) => m.watch(0x8000_0000, 8, () => {}, { write: false }),
    RangeError,
    /^Machine\.watch: kinds must be \{ read: true \} and\/or \{ write: true \}, not an object/,
  ],
  [
    "hookException fn",
    (m) => m.hookException(13 as never),
    TypeError,
    /^Machine\.hookException: fn must be a function, not 13$/,
  ],
  [
    "hookException causes",
    (m) => m.hookException(() => {}, "13" as never),
    TypeError,
    /^Machine\.hookException: causes must be a non-negative integer, not "13"$/,
  ],
  [
    "hookEcall eids",
    (m) => m.hookEcall(() => undefined, [0x54494d45, -1]),
    RangeError,
    /^Machine\.hookEcall: eids\[1\] must be a non-negative integer, not -1$/,
  ],
  [
    "hex",
    () => hex("ff" as never),
    TypeError,
    /^hex: value must be a finite number or a bigint, not "ff"$/,
  ],
];

Deno.test("api: every entry point names the bad argument and what it expects", async () => {
  for (const mode of MODES) {
    for (const [what, call, type, message] of BAD_INPUT) {
      const m = tinyos(mode);
      let error: unknown = null;
      try {
        await call(m);
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof type, `${what} (${mode}): ${error}`);
      assert.match((error as Error).message, message, `${what} (${mode})`);
      assert.equal(
        m.vm.hart.breakpoints.size + m.vm.hart.watchpoints.length,
        0,
        `${what}: no leftover`,
      );
    }
  }
});
