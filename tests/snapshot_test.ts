/**
 * Snapshots: a machine saved at the tinyos prompt and restored into a new
 * machine (bare and under the hypervisor, and in a new rvisor process) answers
 * the same input with byte-identical console output and ends in the same
 * state; damaged, foreign and mismatched snapshots are refused with one-line
 * errors; a virtio disk's copy-on-write overlay comes back with the machine.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type VirtConfig, VirtMachine } from "../devices/virt.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import { tinyosElf } from "../guests/tinyos/image.ts";
import { SNAPSHOT_FORMAT_VERSION, SnapshotError } from "../core/snapshot.ts";
import { type BlockBackend, CowOverlay, MemoryBlockBackend } from "../devices/block.ts";
import { VIRT_MEMMAP, VIRTIO_SLOTS } from "../devices/dtb.ts";
import { VirtioMmioRegister } from "../devices/virtio-mmio.ts";
import { Csr } from "../core/csr.ts";
import { parseElf } from "../core/elf.ts";
import { buildGuests } from "../scripts/build-guests.ts";

const BOOT = new URL("../boot.ts", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;
const MiB = 1024 * 1024;
/** Instructions a command may take before the test gives up. */
const COMMAND_BUDGET = 50_000_000;
/** Idle instructions between commands: at least one 100 Hz timer tick (10 M instructions). */
const IDLE = 12_000_000;

type Mode = "bare" | "hypervisor";

/** tinyos on a machine, driven like a terminal: type a line after the prompt, read the answer. */
class Tinyos {
  readonly machine: VirtMachine;
  output = "";

  constructor(readonly mode: Mode, extra: Partial<VirtConfig> = {}) {
    // The same configuration as `boot.ts --clock virtual` (and --no-hypervisor for bare).
    const config = {
      kernel: { name: "tinyos.elf", bytes: tinyosElf() },
      memory: 128 * MiB,
      clock: "virtual" as const,
      console: (b: number) => this.output += String.fromCharCode(b),
      ...extra,
    };
    this.machine = mode === "bare" ? new VirtMachine(config) : createHypervisorMachine(config);
  }

  /** Runs until `text` appears after output position `from`. */
  async waitFor(text: string, from: number): Promise<void> {
    const start = this.machine.hart.retired;
    while (!this.output.includes(text, from)) {
      assert.ok(
        this.machine.hart.retired - start < COMMAND_BUDGET && !this.machine.halted,
        `no '${text}' in:\n${this.output.slice(from)}`,
      );
      await this.machine.run({ maxInstructions: 1_000_000 });
    }
  }

  async boot(): Promise<this> {
    await this.waitFor("$ ", 0);
    return this;
  }

  /** Types `line` + Enter and runs until the next prompt. */
  async command(line: string): Promise<void> {
    const from = this.output.length;
    this.machine.input(line + "\n");
    await this.waitFor("\n$ ", from);
  }

  /** A session that exercises timer interrupts, U-mode page faults and UART input; returns its output. */
  async session(): Promise<string> {
    const from = this.output.length;
    for (const line of ["ps", "uptime", "mem 16", "echo hi"]) await this.command(line);
    await this.machine.run({ maxInstructions: IDLE });
    for (const line of ["ps", "uptime", "echo bye"]) await this.command(line);
    return this.output.slice(from);
  }
}

for (const mode of ["bare", "hypervisor"] as const) {
  Deno.test(`snapshot at the tinyos prompt, restored into a new machine, continues byte-identically (${mode})`, async () => {
    const original = await new Tinyos(mode).boot();
    const snapshot = original.machine.saveSnapshot();
    const restored = new Tinyos(mode);
    restored.machine.restore(snapshot, "prompt.snap");
    assert.equal(restored.output, "", "a restored machine prints nothing by itself");
    // Nothing is lost or added on the way: saving the restored machine gives the same bytes.
    assert.deepEqual(restored.machine.saveSnapshot(), snapshot);

    const expected = await original.session();
    const actual = await restored.session();
    assert.equal(actual, expected);
    assert.match(
      expected,
      /\nup \d+\.\d{3} s, [1-9]\d* ticks/,
      "the timer ticked during the session",
    );
    assert.equal(restored.machine.hart.retired, original.machine.hart.retired);
    // And both end in exactly the same state: hart, devices, hypervisor, RAM.
    assert.deepEqual(restored.machine.saveSnapshot(), original.machine.saveSnapshot());
  });
}

/** Reads a child's stdout as text, a chunk at a time. */
class Output {
  text = "";
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder("latin1");
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }
  /** Reads until the text after `from` includes `want`; false at end of stream. */
  async until(want: string, from: number): Promise<boolean> {
    while (!this.text.includes(want, from)) {
      const { value, done } = await this.#reader.read();
      if (done) return false;
      this.text += this.#decoder.decode(value, { stream: true });
    }
    return true;
  }
  /** Reads to the end of the stream. */
  async rest(): Promise<string> {
    while (true) {
      const { value, done } = await this.#reader.read();
      if (done) return this.text;
      this.text += this.#decoder.decode(value, { stream: true });
    }
  }
}

Deno.test("boot.ts --snapshot-load: tinyos saved at the prompt answers the same input identically in a new process", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "rvisor-snapshot-" });
  try {
    const file = `${dir}/prompt.snap`;
    const os = await new Tinyos("hypervisor").boot(); // the CLI's default mode
    Deno.writeFileSync(file, os.machine.saveSnapshot());
    const lines = ["echo hi", "help", "mem 16", "echo bye"];
    const from = os.output.length;
    for (const line of lines) await os.command(line);
    os.machine.input("poweroff\n");
    await os.machine.run({ maxInstructions: COMMAND_BUDGET });
    assert.ok(os.machine.halted);
    const expected = os.output.slice(from);

    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", BOOT, "--clock", "virtual", "--snapshot-load", file, "--timeout", "120"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = new Output(child.stdout);
    const stdin = child.stdin.getWriter();
    // Typed one line per prompt, as in the in-process session (tinyos echoes what arrives).
    for (const line of [...lines, "poweroff"]) {
      const at = out.text.length;
      await stdin.write(new TextEncoder().encode(line + "\n"));
      if (line !== "poweroff") assert.ok(await out.until("\n$ ", at), out.text);
    }
    await stdin.close();
    const [text, status, stderr] = await Promise.all([
      out.rest(),
      child.status,
      new Response(child.stderr).text(),
    ]);
    assert.equal(stderr, "");
    assert.equal(status.code, 0);
    assert.equal(text, expected);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("boot.ts --snapshot-at N --snapshot-save: the saved machine finishes the boot in a new process", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "rvisor-snapshot-" });
  try {
    const file = `${dir}/boot.snap`;
    /** Runs rvisor to the shell prompt, then powers the guest off; returns the boot output. */
    const boot = async (...args: string[]) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", BOOT, "--clock", "virtual", "--no-hypervisor", ...args],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const out = new Output(child.stdout);
      const reached = await out.until("$ ", 0);
      const stdin = child.stdin.getWriter();
      await stdin.write(new TextEncoder().encode("poweroff\n"));
      await stdin.close();
      const [text, status, stderr] = await Promise.all([
        out.rest(),
        child.status,
        new Response(child.stderr).text(),
      ]);
      assert.ok(reached, text + stderr);
      assert.equal(status.code, 0, stderr);
      return text.slice(0, text.indexOf("$ ") + 2);
    };
    const first = await boot("--snapshot-save", file, "--snapshot-at", "300000");
    const second = await boot("--snapshot-load", file);
    assert.match(first, /tinyos: booting/);
    assert.doesNotMatch(second, /tinyos: booting/, "the restored run starts mid-boot");
    assert.ok(
      second.length > 2 && second.length < first.length,
      "the restored run starts mid-boot",
    );
    assert.ok(first.endsWith(second), `${first}\n---\n${second}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** The error `restore` throws for `bytes`, checked to be one line naming the file. */
function restoreError(machine: VirtMachine, bytes: Uint8Array): string {
  const pc = machine.hart.pc;
  let error: unknown;
  try {
    machine.restore(bytes, "x.snap");
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof SnapshotError, `expected a SnapshotError, got ${error}`);
  assert.ok(error.message.startsWith("x.snap: "), error.message);
  assert.ok(!error.message.includes("\n"), error.message);
  assert.equal(machine.hart.pc, pc, "a refused snapshot leaves the machine as it was");
  return error.message;
}

Deno.test("corrupt, foreign and mismatched snapshots are refused with one-line errors", () => {
  const bare = new Tinyos("bare").machine;
  const snapshot = bare.saveSnapshot();
  const target = new Tinyos("bare").machine;

  assert.match(
    restoreError(target, new TextEncoder().encode("GIF89a...")),
    /not an rvisor snapshot/,
  );
  assert.match(restoreError(target, new Uint8Array()), /not an rvisor snapshot/);
  const version = snapshot.slice();
  version[6] = SNAPSHOT_FORMAT_VERSION + 1;
  assert.match(
    restoreError(target, version),
    new RegExp(
      `format version ${SNAPSHOT_FORMAT_VERSION + 1}, .* reads version ${SNAPSHOT_FORMAT_VERSION}`,
    ),
  );
  const damaged = snapshot.slice();
  damaged[damaged.length >> 1] ^= 0x40;
  assert.match(restoreError(target, damaged), /checksum mismatch/);
  assert.match(
    restoreError(target, snapshot.slice(0, snapshot.length - 1000)),
    /checksum|truncated/,
  );

  const hypervisor = new Tinyos("hypervisor").machine;
  assert.match(
    restoreError(hypervisor, snapshot),
    /different machine: .*hypervisor is off in the snapshot but on here/,
  );
  assert.match(
    restoreError(new Tinyos("bare", { memory: 256 * MiB }).machine, snapshot),
    /RAM size is 128 MiB in the snapshot but 256 MiB here/,
  );
  const otherKernel = tinyosElf();
  otherKernel[otherKernel.length - 1] ^= 1;
  assert.match(
    restoreError(
      new Tinyos("bare", { kernel: { name: "k", bytes: otherKernel } }).machine,
      snapshot,
    ),
    /kernel is \d+ bytes, fingerprint \w+ in the snapshot but \d+ bytes, fingerprint \w+ here/,
  );
  const disk = (n: number) => new CowOverlay(new MemoryBlockBackend(new Uint8Array(n)));
  const withDisk = new Tinyos("bare", { disk: disk(MiB) }).machine.saveSnapshot();
  assert.match(
    restoreError(new Tinyos("bare", { disk: disk(2 * MiB) }).machine, withDisk),
    /disk size is 1048576 bytes in the snapshot but 2097152 bytes here/,
  );
  assert.match(
    restoreError(target, withDisk),
    /disks is slot 7 in the snapshot but none here/,
  );
  // The same disk in another slot is another machine: a driver found it at another address.
  assert.match(
    restoreError(
      new Tinyos("bare", { disks: [{ backend: disk(MiB), slot: 0 }] }).machine,
      withDisk,
    ),
    /disks is slot 7 in the snapshot but slot 0 here/,
  );
});

Deno.test("boot.ts: snapshot file errors are one line and exit 2", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "rvisor-snapshot-" });
  try {
    Deno.writeTextFileSync(`${dir}/junk.snap`, "not a snapshot at all");
    const cases: [string[], RegExp][] = [
      [["--snapshot-load", `${dir}/missing.snap`], /^rvisor: \S+missing\.snap: no such file\n$/],
      [["--snapshot-load", `${dir}/junk.snap`], /^rvisor: \S+junk\.snap: not an rvisor snapshot/],
      [["--snapshot-at", "5"], /^rvisor: --snapshot-at: needs --snapshot-save FILE\n$/],
      [["--snapshot-save", `${dir}/x`, "--snapshot-at", "lots"], /not a number of instructions/],
    ];
    for (const [args, want] of cases) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", BOOT, ...args],
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 2, `${args.join(" ")}: ${stderr}`);
      assert.match(stderr, want);
      assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a snapshot keeps the virtio disk's overlay and transport state, never the base image", () => {
  const base = new Uint8Array(2 * MiB);
  for (let i = 0; i < base.length; i += 512) base[i] = i >> 9;
  const slot = VIRT_MEMMAP.virtio.base + (VIRTIO_SLOTS - 1) * VIRT_MEMMAP.virtio.size;
  const R = VirtioMmioRegister;
  const make = (bytes = base) => {
    const disk = new CowOverlay(new MemoryBlockBackend(bytes.slice(), { readOnly: true }));
    return { disk, machine: new Tinyos("bare", { disk }).machine };
  };

  const a = make();
  // What a driver and its writes leave behind: transport registers, a queue set up, written chunks.
  a.machine.bus.writeDevice(slot + R.STATUS, 4, 3); // ACKNOWLEDGE | DRIVER
  a.machine.bus.writeDevice(slot + R.QUEUE_SEL, 4, 0);
  a.machine.bus.writeDevice(slot + R.QUEUE_NUM, 4, 8);
  a.machine.bus.writeDevice(slot + R.QUEUE_DESC_LOW, 4, 0x8100_0000);
  const written = new Uint8Array(6000).fill(0xab);
  a.disk.write(4096 + 100, written);
  a.disk.write(base.length - 512, new Uint8Array(512).fill(0xcd));
  const snapshot = a.machine.saveSnapshot();

  const b = make();
  b.machine.restore(snapshot, "disk.snap");
  assert.equal(b.disk.dirtyChunks, a.disk.dirtyChunks);
  const all = (d: BlockBackend) => {
    const bytes = new Uint8Array(d.size);
    d.read(0, bytes);
    return bytes;
  };
  assert.deepEqual(all(b.disk), all(a.disk));
  assert.deepEqual(all(b.disk.base), base, "the base image is never written");
  for (const reg of [R.STATUS, R.QUEUE_NUM, R.QUEUE_DESC_LOW]) {
    assert.equal(b.machine.bus.readDevice(slot + reg, 4), a.machine.bus.readDevice(slot + reg, 4));
  }

  // Another image of the same size is another disk: its overlay would be meaningless on it.
  const other = base.slice();
  other[0] ^= 1;
  assert.match(
    restoreError(make(other).machine, snapshot),
    /disk contents is fingerprint \w+ in the snapshot but fingerprint \w+ here/,
  );
});

Deno.test("a snapshot keeps every disk's overlay, each in its slot", () => {
  const make = () => {
    const disks = [0, 7].map((slot) => ({
      slot,
      backend: new CowOverlay(new MemoryBlockBackend(new Uint8Array(MiB))),
    }));
    return { disks, machine: new Tinyos("hypervisor", { disks }).machine };
  };
  const a = make();
  a.disks[0].backend.write(0, new Uint8Array(512).fill(1));
  a.disks[1].backend.write(8192, new Uint8Array(512).fill(2));
  const b = make();
  b.machine.restore(a.machine.saveSnapshot(), "disks.snap");
  for (const [i, offset, fill] of [[0, 0, 1], [1, 8192, 2]]) {
    const bytes = new Uint8Array(512);
    b.disks[i].backend.read(offset, bytes);
    assert.deepEqual(bytes, new Uint8Array(512).fill(fill), `slot ${b.disks[i].slot}`);
    assert.equal(b.disks[i].backend.dirtyChunks, 1);
  }
});

Deno.test("F/D registers and fcsr are saved; an F/D snapshot needs an F/D machine", () => {
  const a = new Tinyos("bare", { isa: "rv64gc" }).machine;
  for (let i = 0; i < 64; i++) a.hart.fpu.fw[i] = Math.imul(i + 1, 0x9e3779b9);
  a.hart.writeCsr(Csr.mstatus, 1n << 13n); // FS = Initial: fcsr is accessible
  a.hart.writeCsr(Csr.fcsr, 0x85n);
  const snapshot = a.saveSnapshot();
  const b = new Tinyos("bare", { isa: "rv64gc" }).machine;
  b.restore(snapshot);
  assert.deepEqual(b.hart.fpu.fw, a.hart.fpu.fw);
  assert.equal(b.hart.readCsr(Csr.fcsr), 0x85n);
  assert.match(
    restoreError(new Tinyos("bare", { isa: "rv64imac" }).machine, snapshot),
    /F\/D extensions is on in the snapshot but off here/,
  );
});

Deno.test("snapshot: the hypervisor's record of superpage shadows comes back (mmu.elf restored mid-run passes)", async () => {
  await buildGuests();
  const elf = Deno.readFileSync(`${ROOT}guests/isa/build/mmu.elf`);
  const config = { kernel: { name: "mmu.elf", bytes: elf }, clock: "virtual" as const };
  const first = createHypervisorMachine(config);
  // Between a load through a megapage (test 37) and the fence of one address in it (test 38):
  // restored without the record, the fence would drop one page and leave the load's shadow.
  const at = first.hypervisor.guest.layout.images.kernel!.symbols.get("megapage_unmap")!;
  first.hart.addBreakpoint(at);
  assert.equal((await first.run({ maxInstructions: 1_000_000 })).stop, "breakpoint");
  first.hart.removeBreakpoint(at);
  const second = createHypervisorMachine(config);
  second.restore(first.saveSnapshot(), "mmu.snap");
  const r = await second.run({ maxInstructions: 1_000_000 });
  assert.equal(r.stop, "halt");
  assert.equal(second.exitCode, 0, `mmu.elf failed case ${second.exitCode} after the restore`);
});

for (const mode of ["bare", "hypervisor"] as const) {
  Deno.test(`snapshot: armed debug triggers come back (trigger.elf restored with both armed passes, ${mode})`, async () => {
    await buildGuests();
    const elf = Deno.readFileSync(`${ROOT}guests/isa/build/trigger.elf`);
    const config = { kernel: { name: "trigger.elf", bytes: elf }, clock: "virtual" as const };
    const create = () =>
      mode === "bare" ? new VirtMachine(config) : createHypervisorMachine(config);
    const first = create();
    // Test 39 expects a breakpoint exception from trigger 0 and test 40 from trigger 1:
    // restored without them, the load and the store would simply run and the cases fail.
    const at = parseElf(elf).symbols.get("trap_epc_39")!;
    first.hart.addBreakpoint(at);
    assert.equal((await first.run({ maxInstructions: 1_000_000 })).stop, "breakpoint");
    first.hart.removeBreakpoint(at);
    const second = create();
    second.restore(first.saveSnapshot(), "trigger.snap");
    const r = await second.run({ maxInstructions: 1_000_000 });
    assert.equal(r.stop, "halt");
    assert.equal(
      second.exitCode,
      0,
      `trigger.elf failed case ${second.exitCode} after the restore`,
    );
  });
}

// trap.elf takes 49 traps on its one hart bare in 1,503 instructions; smp.elf under the
// hypervisor makes its 3 vCPUs' harts trap into it 143, 12 and 12 times in 67,786. Both are
// saved about halfway.
for (
  const { mode, elf, smp, at } of [
    { mode: "bare", elf: "isa/build/trap.elf", smp: 1, at: 700 },
    { mode: "hypervisor", elf: "smp/build/smp.elf", smp: 3, at: 30_000 },
  ] as const
) {
  Deno.test(`snapshot: each hart's trap count (--stats) goes on from where it was saved (${elf}, ${mode})`, async () => {
    await buildGuests();
    const kernel = { name: elf, bytes: Deno.readFileSync(`${ROOT}guests/${elf}`) };
    const config = { kernel, smp, clock: "virtual" as const };
    const create = () =>
      mode === "bare" ? new VirtMachine(config) : createHypervisorMachine(config);
    const traps = (m: VirtMachine) => m.harts.map((h) => h.trapsTaken);
    const first = create();
    await first.run({ maxInstructions: at });
    const saved = traps(first);
    assert.ok(saved.every((n) => n > 0), `traps when saved: ${saved}`);
    const snapshot = first.saveSnapshot();
    assert.equal((await first.run({ maxInstructions: 1_000_000 })).stop, "halt");
    const second = create();
    second.restore(snapshot, "traps.snap");
    assert.deepEqual(traps(second), saved);
    assert.equal((await second.run({ maxInstructions: 1_000_000 })).stop, "halt");
    assert.equal(second.exitCode, 0);
    assert.deepEqual(traps(second), traps(first));
  });
}
