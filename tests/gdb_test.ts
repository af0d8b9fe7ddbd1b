/**
 * The GDB remote stub: Debian's gdb-multiarch in batch mode against
 * `boot.ts --gdb`, bare and under the hypervisor (guest view); loopback-only
 * binds; and a fuzzed packet stream that must get error replies, not a crash.
 */

import assert from "node:assert/strict";
import { type GdbConnection, GdbStub } from "../devices/gdb/stub.ts";
import { BareTarget, readCsrFile } from "../devices/gdb/target.ts";
import {
  encodePacket,
  fromLatin1,
  latin1,
  PacketDecoder,
  regToHex,
} from "../devices/gdb/protocol.ts";
import { isLoopback, parseGdbAddress } from "../devices/host/gdbserver.ts";
import { VirtMachine } from "../devices/virt.ts";
import { tinyosElf } from "../guests/tinyos/image.ts";
import { GuestTarget } from "../hypervisor/gdb.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import { buildGuests } from "../scripts/build-guests.ts";
import { HANG_GUARD_MS, hostTest, missing } from "../scripts/host-tools.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SMOKE = `${ROOT}guests/isa/build/smoke.elf`;
/** The trigger probe: the guest's own debug triggers, beside the debugger's. */
const TRIGGER = `${ROOT}guests/isa/build/trigger.elf`;
/** All harts at work (guests/smp/smp.S). */
const SMP = `${ROOT}guests/smp/build/smp.elf`;

let built: Promise<number> | undefined;
function ensureGuests(): Promise<number> {
  built ??= buildGuests();
  return built;
}

/** Starts `boot.ts --gdb 0 --gdb-wait` and returns the process and the port it announced. */
interface Stub {
  child: Deno.ChildProcess;
  port: number;
  stderr: ReadableStreamDefaultReader<Uint8Array>;
}

async function startStub(extra: string[], kernel = SMOKE): Promise<Stub> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}boot.ts`,
      "--gdb",
      "0",
      "--gdb-wait",
      "--timeout",
      String(HANG_GUARD_MS / 1000),
      "--kernel",
      kernel,
      ...extra,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.getReader();
  let text = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`rvisor exited before listening: ${text}`);
    text += new TextDecoder().decode(value);
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(text);
    if (m) return { child, port: Number(m[1]), stderr: reader };
  }
}

/** Runs gdb-multiarch in batch mode with `commands`; returns its output. */
async function gdb(port: number, commands: string[], elf = SMOKE): Promise<string> {
  const args = ["-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off"];
  args.push("-ex", `target remote 127.0.0.1:${port}`);
  for (const c of commands) args.push("-ex", c);
  args.push(elf);
  const out = await new Deno.Command("gdb-multiarch", { args, stdin: "null" }).output();
  const dec = new TextDecoder();
  return dec.decode(out.stdout) + dec.decode(out.stderr);
}

async function finish(stub: Stub): Promise<{ code: number; stderr: string }> {
  const child = stub.child;
  const timer = setTimeout(() => child.kill("SIGKILL"), HANG_GUARD_MS);
  let stderr = "";
  while (true) {
    const { value, done } = await stub.stderr.read();
    if (done) break;
    stderr += new TextDecoder().decode(value);
  }
  const { code } = await child.status;
  await child.stdout.cancel();
  clearTimeout(timer);
  return { code, stderr };
}

Deno.test(hostTest(
  "gdb-multiarch: break at a symbol, continue, step, registers, memory, detach (bare)",
  missing("gdb-multiarch"),
  async () => {
    await ensureGuests();
    const stub = await startStub(["--no-hypervisor"]);
    const out = await gdb(stub.port, [
      "print $pc",
      "break test_3",
      "continue",
      "print $pc",
      "stepi",
      "print $pc",
      "info registers",
      "x/4wx 0x80001000",
      "print/x $mstatus",
      "print $priv",
      "monitor phys on",
      "x/1wx 0x80000000",
      "detach",
    ]);
    assert.match(out, /\$1 = .*0x1000/, out); // held at reset: the boot ROM
    assert.match(out, /Breakpoint 1, 0x0*80000036 in test_3/, out);
    assert.match(out, /\$2 = .*0x80000036 <test_3>/, out);
    assert.match(out, /\$3 = .*0x80000038 <test_3\+2>/, out); // c.li is 2 bytes
    assert.match(out, /\ngp\s+0x3\s/, out); // test number 3 is running
    assert.match(out, /\nsp\s+0x80003010\s/, out);
    assert.match(out, /\npc\s+0x80000038\s/, out);
    assert.match(out, /0x80001000(?: <word>)?:\s+0x12345678\s+0x00000000/, out);
    assert.match(out, /\$4 = 0xa00000000/, out); // mstatus: UXL = SXL = 64
    assert.match(out, /\$5 = (3|prv3)/, out); // priv: M
    assert.match(out, /memory accesses are physical/, out);
    assert.match(out, /0x80000000 <_start>:\s+0x00000297/, out);
    assert.match(out, /Inferior 1 \(Remote target\) detached/, out);
    // Detached: the program runs on freely and powers off with success.
    const { code, stderr } = await finish(stub);
    assert.equal(code, 0, stderr);
  },
  { sanitizeResources: false },
));

Deno.test(hostTest(
  "gdb-multiarch under the hypervisor: the guest's registers, virtual CSRs and privilege, watchpoint",
  missing("gdb-multiarch"),
  async () => {
    await ensureGuests();
    const stub = await startStub([]);
    const out = await gdb(stub.port, [
      "break test_3",
      "continue",
      "stepi",
      "stepi",
      "print $pc",
      "print $priv",
      "print/x $mtvec",
      "x/1wx 0x80001000",
      "rwatch *(int*)0x80001000",
      "continue",
      "delete",
      "continue",
    ]);
    assert.match(out, /Breakpoint 1, 0x0*80000036 in test_3/, out);
    assert.match(out, /\$1 = .*0x8000003c <test_3\+6>/, out);
    assert.match(out, /\$2 = (3|prv3)/, out); // the guest's virtual M-mode, not host U
    assert.match(out, /\$3 = 0x80000080/, out); // the guest's mtvec (unexpected_trap)
    assert.match(out, /0x80001000(?: <word>)?:\s+0x12345678/, out);
    assert.match(out, /Hardware read watchpoint 2: \*\(int\*\)0x80001000\s+Value = 305419896/, out);
    assert.match(out, /exited normally/, out);
    const { code, stderr } = await finish(stub);
    assert.equal(code, 0, stderr);
  },
  { sanitizeResources: false },
));

Deno.test(hostTest(
  "gdb-multiarch under the hypervisor: hbreak and watch beside the guest's own triggers",
  missing("gdb-multiarch"),
  async () => {
    await ensureGuests();
    const stub = await startStub([], TRIGGER);
    // trap_epc_7 is where the guest arms its own execute trigger: the debugger's
    // breakpoint stops first, and the guest's trigger still fires when it goes on.
    const out = await gdb(stub.port, [
      "watch *(long*)&data1",
      "hbreak trap_epc_7",
      "continue",
      "continue",
      "print $priv",
      "delete",
      "continue",
    ], TRIGGER);
    assert.match(out, /Hardware watchpoint 1: \*\(long\*\)&data1/, out);
    assert.match(out, /Hardware assisted breakpoint 2 at 0x[0-9a-f]+/, out);
    assert.match(out, /Breakpoint 2, 0x[0-9a-f]+ in trap_epc_7/, out);
    assert.match(out, /Old value = 0\s+New value = 90/, out); // sd s1 (0x5a) to data1
    assert.match(out, /\$1 = (3|prv3)/, out);
    assert.match(out, /exited normally/, out); // every case passed, trigger 7 included
    const { code, stderr } = await finish(stub);
    assert.equal(code, 0, stderr);
  },
  { sanitizeResources: false },
));

Deno.test(hostTest(
  "gdb-multiarch under the hypervisor with 3 vCPUs (smp.elf): vCPUs are threads, a secondary's breakpoint names its thread, each thread's registers, stepi on the selected one",
  missing("gdb-multiarch"),
  async () => {
    await ensureGuests();
    const stub = await startStub(["--smp", "3", "--clock", "virtual"], SMP);
    const out = await gdb(stub.port, [
      "info threads",
      "break secondary", // only harts 1.. get there
      "continue",
      "print $s0", // smp.S keeps mhartid in s0
      "print $mhartid",
      "thread 1",
      "print $s0",
      "print $mhartid",
      "print $pc",
      "thread 3",
      "print $pc",
      "stepi",
      "print $pc",
      "continue",
      "print $s0",
      "delete",
      "continue",
    ], SMP);
    // Held at reset: every vCPU at the boot ROM; the stop names thread 1.
    assert.match(out, /^\* 1\s+Thread 1 .*0x0*1000 .*\n\s+2\s+Thread 2 .*\n\s+3\s+Thread 3 /m, out);
    assert.doesNotMatch(out, /stopped without sending a thread-id/, out);
    assert.match(out, /Thread 2 hit Breakpoint 1, 0x0*80000178 in secondary/, out);
    // The stopped thread's registers are its own vCPU's: s0 = a0 at entry = mhartid = thread - 1.
    assert.match(out, /\$1 = .*0x1\n/, out);
    assert.match(out, /\$2 = 1\n/, out);
    // Thread 1 is hart 0, which never runs `secondary`.
    assert.match(out, /\$3 = .*0x0\n/, out);
    assert.match(out, /\$4 = 0\n/, out);
    const pc1 = /\$5 = .*(0x[0-9a-f]+)/.exec(out)![1];
    assert.notEqual(pc1, "0x80000178", out);
    // stepi on thread 3 moves thread 3 by one instruction (norvc: 4 bytes).
    const before = BigInt(/\$6 = .*?(0x[0-9a-f]+)/.exec(out)![1]);
    const after = BigInt(/\$7 = .*?(0x[0-9a-f]+)/.exec(out)![1]);
    assert.equal(after, before + 4n, out);
    // Thread 3 goes on to `secondary` too, and its stop is its own.
    assert.match(out, /Thread 3 hit Breakpoint 1, 0x0*80000178 in secondary/, out);
    assert.match(out, /\$8 = .*0x2\n/, out);
    assert.match(out, /exited normally/, out);
    const { code, stderr } = await finish(stub);
    assert.equal(code, 0, stderr);
  },
  { sanitizeResources: false },
));

Deno.test("gdb stub: loopback only unless --gdb-listen asks for another address", async () => {
  assert.deepEqual(parseGdbAddress("1234", false), { hostname: "127.0.0.1", port: 1234 });
  assert.deepEqual(parseGdbAddress("localhost:1", false), { hostname: "localhost", port: 1 });
  assert.deepEqual(parseGdbAddress("[::1]:5", false), { hostname: "::1", port: 5 });
  assert.throws(() => parseGdbAddress("0.0.0.0:1234", false), /loopback only/);
  assert.throws(() => parseGdbAddress("192.168.1.2:1234", false), /--gdb-listen/);
  assert.throws(() => parseGdbAddress("1234567", false), /port|expected/);
  assert.deepEqual(parseGdbAddress("0.0.0.0:1234", true), { hostname: "0.0.0.0", port: 1234 });
  assert.ok(isLoopback("127.0.0.5") && !isLoopback("10.0.0.1"));
  // The command line refuses it with a usage error, before anything listens.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}boot.ts`, "--gdb", "0.0.0.0:0"],
    stdin: "null",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /^rvisor: --gdb .*loopback only/);
});

/** A connection fed from a script: the stub's replies are collected. */
class ScriptedConnection implements GdbConnection {
  readonly sent: number[] = [];
  #chunks: Uint8Array[];
  constructor(chunks: Uint8Array[]) {
    this.#chunks = chunks;
  }
  read(buffer: Uint8Array): Promise<number | null> {
    const c = this.#chunks.shift();
    if (c === undefined) return new Promise(() => {}); // the debugger stays, silent
    buffer.set(c.subarray(0, buffer.length));
    // Yield to the stub between chunks, as a socket would.
    return new Promise((resolve) => setTimeout(() => resolve(Math.min(c.length, buffer.length))));
  }
  write(bytes: Uint8Array): Promise<number> {
    this.sent.push(...bytes);
    return Promise.resolve(bytes.length);
  }
  close(): void {}
}

/** Replies (packet bodies) in what the stub sent. */
function replies(bytes: number[]): string[] {
  const d = new PacketDecoder();
  return d.push(Uint8Array.from(bytes)).filter((e) => e.kind === "packet").map((e) =>
    e.kind === "packet" ? fromLatin1(e.data) : ""
  );
}

Deno.test("gdb stub: a fuzzed packet stream gets error or empty replies, and the stub survives", async () => {
  await ensureGuests();
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const machine = new VirtMachine({
    kernel: { name: "smoke.elf", bytes: Deno.readFileSync(SMOKE) },
    clock: "virtual",
  });
  const stub = new GdbStub(new BareTarget(machine));
  const malformed = [
    "g1",
    "Gzz",
    "p",
    "pzzzz",
    "P20=",
    "P20=xyz",
    "m",
    "m80000000",
    "mzz,4",
    "m80000000,ffffffff",
    "M80000000,4:00",
    "M80000000,1:zz",
    "X80000000,4:",
    "Z9,0,0",
    "Z0,zz,4",
    "Z2,80001000,0",
    "z",
    "qXfer:features:read:target.xml:zz,10",
    "qXfer:features:read:other.xml:0,10",
    "qRcmd,zz",
    "vCont;x",
    "cxyz",
    "C",
    "\u00ff\u0000",
    "",
  ];
  const chunks: Uint8Array[] = [latin1("+"), encodePacket("QStartNoAckMode")];
  const expectError: string[] = [];
  for (const p of malformed) chunks.push(encodePacket(p)), expectError.push(p);
  for (let i = 0; i < 300; i++) {
    // Random bytes (line noise, bad checksums, stray '$' and '#') and random packet bodies.
    const len = rand(40);
    const bytes = Uint8Array.from({ length: len }, () => rand(256));
    // Bodies that would resume, detach, kill or overwrite state get a harmless first byte.
    const body = fromLatin1(bytes).replace(/^[cCsSDkvGPMXZzR]/, "x");
    chunks.push(rand(2) === 0 ? bytes : encodePacket(body));
  }
  chunks.push(
    latin1("$#00"),
    encodePacket("?"),
    encodePacket("p20"),
    encodePacket("unknown-packet"),
  );
  // The last packet, a kill, ends the run once every packet before it was answered.
  chunks.push(encodePacket("m80001000,4"), encodePacket("k"));
  const conn = new ScriptedConnection(chunks);
  assert.ok(stub.attach(conn));
  // The timeout is a hang guard only (the stream takes well under a second).
  const result = await stub.run({ waitForDebugger: true, timeoutMs: HANG_GUARD_MS });
  assert.equal(result.stop, "killed");
  assert.equal(machine.hart.retired, 0, "the stub stayed stopped under the debugger");
  const r = replies(conn.sent);
  // Each malformed packet got an error or an empty reply (after QStartNoAckMode's OK).
  const first = r.indexOf("OK");
  for (let i = 0; i < malformed.length; i++) {
    const reply = r[first + 1 + i];
    assert.ok(
      reply === "" || /^E[0-9a-f]{2}$/i.test(reply),
      `${JSON.stringify(malformed[i])} -> ${JSON.stringify(reply)}`,
    );
  }
  // And the stub still answers properly at the end: memory of `word`, pc at reset.
  assert.equal(r[r.length - 1], "78563412", r.slice(-5).join(" | "));
  assert.equal(r[r.length - 2], "", "unknown packet: empty reply");
  assert.equal(r[r.length - 3], "0010000000000000", "pc is still the reset vector");
  assert.equal(machine.halted, null);
});

Deno.test("gdb stub under the hypervisor: a watchpoint on a device register sees the stores the hypervisor emulates", async () => {
  const machine = createHypervisorMachine({
    kernel: { name: "tinyos.elf", bytes: tinyosElf() },
    clock: "virtual",
  });
  const stub = new GdbStub(new GuestTarget(machine, machine.hypervisor));
  // The UART's transmit register: tinyos's first console byte is a store there.
  const conn = new ScriptedConnection([
    latin1("+"),
    encodePacket("QStartNoAckMode"),
    encodePacket("Z2,10000000,1"),
    encodePacket("c"),
  ]);
  assert.ok(stub.attach(conn));
  const result = await stub.run({ waitForDebugger: true, timeoutMs: 5000 });
  assert.equal(result.stop, "timeout", "stopped at the watchpoint, under the debugger");
  const r = replies(conn.sent);
  assert.deepEqual(r.slice(-3), ["OK", "OK", "T05watch:10000000;"], r.join(" | "));
  assert.ok((machine.hypervisor.exitCounts.get("mmio") ?? 0) > 0, "the store was emulated");
});

Deno.test("gdb stub with 2 harts: harts are threads (qfThreadInfo, qC, Hg, T), a breakpoint stops on either with thread: in the stop reply", async () => {
  await ensureGuests();
  const smp = `${ROOT}guests/smp/build/smp.elf`;
  const machine = new VirtMachine({
    kernel: { name: "smp.elf", bytes: Deno.readFileSync(smp) },
    clock: "virtual",
    smp: 2,
  });
  const secondary = 0x8000_0174; // smp.S's `secondary`: only harts 1.. get there
  assert.equal(machine.images.kernel?.symbols.get("secondary"), secondary);
  const stub = new GdbStub(new BareTarget(machine));
  const conn = new ScriptedConnection([
    latin1("+"),
    encodePacket("QStartNoAckMode"),
    encodePacket("qfThreadInfo"),
    encodePacket("qsThreadInfo"),
    encodePacket("qC"),
    encodePacket("T2"),
    encodePacket("T3"),
    encodePacket("Hg3"),
    encodePacket(`Z0,${secondary.toString(16)},4`),
    encodePacket("c"),
    encodePacket("qC"),
    encodePacket("p08"), // s0 of the stopped hart: smp.S keeps its mhartid there
    encodePacket("Hg1"),
    encodePacket("p08"),
    encodePacket("k"),
  ]);
  assert.ok(stub.attach(conn));
  const result = await stub.run({ waitForDebugger: true, timeoutMs: HANG_GUARD_MS });
  assert.equal(result.stop, "killed");
  const r = replies(conn.sent);
  assert.deepEqual(r.slice(1), [
    "m1,2",
    "l",
    "QC1",
    "OK",
    "E01",
    "E01",
    "OK",
    "T05thread:2;",
    "QC2",
    "0100000000000000",
    "OK",
    "0000000000000000",
  ], r.join(" | "));
  assert.equal(machine.harts[1].pc, secondary);
});

Deno.test("gdb stub under the hypervisor with 2 vCPUs: each thread's memory goes through its own vCPU's satp (guests/smp/shadow.S)", async () => {
  await ensureGuests();
  const machine = createHypervisorMachine({
    kernel: { name: "shadow.elf", bytes: Deno.readFileSync(`${ROOT}guests/smp/build/shadow.elf`) },
    smp: 2,
    firmware: "builtin",
    clock: "virtual",
  });
  // hart1: vCPU 1's entry from HSM hart_start, before it turns paging on; vCPU 0 has it on.
  const hart1 = machine.hypervisor.guest.layout.images.kernel!.symbols.get("hart1")!;
  const stub = new GdbStub(new GuestTarget(machine, machine.hypervisor));
  const conn = new ScriptedConnection([
    latin1("+"),
    encodePacket("QStartNoAckMode"),
    encodePacket(`Z0,${hart1.toString(16)},4`),
    encodePacket("c"),
    encodePacket("Hg1"),
    encodePacket("m40000000,4"), // VA 0x4000_0000 -> page_a (holds 1) through vCPU 0's table
    encodePacket("p1c1"), // satp
    encodePacket("Hg2"),
    encodePacket("m40000000,4"), // vCPU 1's satp is 0: the same VA is no memory
    encodePacket("p1c1"),
    encodePacket("p0b"), // a1 of hart_start: the satp vCPU 1 is about to write
    encodePacket("k"),
  ]);
  assert.ok(stub.attach(conn));
  const result = await stub.run({ waitForDebugger: true, timeoutMs: HANG_GUARD_MS });
  assert.equal(result.stop, "killed");
  const r = replies(conn.sent);
  const satp0 = regToHex(readCsrFile(machine.hypervisor.guest.vcpus[0].csr, 0x180)!);
  assert.deepEqual(r.slice(1), [
    "OK",
    "T05thread:2;",
    "OK",
    "01000000",
    satp0,
    "OK",
    "E14",
    "0000000000000000",
    satp0,
  ], r.join(" | "));
});

Deno.test("gdb stub under the hypervisor with 3 vCPUs: vCont;c:N runs thread N alone (gdb's step over a breakpoint), vCont;s:N and Hc step that thread", async () => {
  await ensureGuests();
  const machine = createHypervisorMachine({
    kernel: { name: "smp.elf", bytes: Deno.readFileSync(SMP) },
    smp: 3,
    clock: "virtual",
  });
  const secondary = machine.hypervisor.guest.layout.images.kernel!.symbols.get("secondary")!;
  const hex = (n: number) => n.toString(16);
  const pcHex = (n: number) => regToHex(BigInt(n));
  const stub = new GdbStub(new GuestTarget(machine, machine.hypervisor));
  const conn = new ScriptedConnection([
    latin1("+"),
    encodePacket("QStartNoAckMode"),
    encodePacket(`Z0,${hex(secondary)},4`),
    encodePacket("c"), // thread 2 (hart 1) gets there first; its turn goes on
    encodePacket(`z0,${hex(secondary)},4`),
    // Thread 3 has not run yet: to its second instruction alone, while thread 2's turn
    // would otherwise go on first.
    encodePacket("Z0,1004,4"),
    encodePacket("vCont;c:3"),
    encodePacket("z0,1004,4"),
    encodePacket("Hg2"),
    encodePacket("p20"), // thread 2 stayed at `secondary`
    encodePacket("vCont;s:3"),
    encodePacket("p20"), // the step selected thread 3: its pc
    encodePacket("Hc2"),
    encodePacket("s"),
    encodePacket("p20"), // thread 2, one instruction on
    encodePacket("k"),
  ]);
  assert.ok(stub.attach(conn));
  const result = await stub.run({ waitForDebugger: true, timeoutMs: HANG_GUARD_MS });
  assert.equal(result.stop, "killed");
  const r = replies(conn.sent);
  assert.deepEqual(r.slice(1), [
    "OK",
    "T05thread:2;",
    "OK",
    "OK",
    "T05thread:3;",
    "OK",
    "OK",
    pcHex(secondary),
    "T05thread:3;",
    pcHex(0x1008),
    "OK",
    "T05thread:2;",
    pcHex(secondary + 4),
  ], r.join(" | "));
});
