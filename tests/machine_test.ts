/**
 * The scripting facade's second pass (hypervisor/machine.ts through mod.ts):
 * guest and host instruction counts, snapshots on Machine (bytes and files),
 * symbol listing and symbolize, typed memory reads and CSR reads, and system
 * calls apart from SBI calls; bare and under the hypervisor.
 */

import assert from "node:assert/strict";
import { CORE_CSRS, createMachine, type Machine, SnapshotError, type SystemCall } from "../mod.ts";
import { loadSnapshotFile, saveSnapshotFile } from "../devices/host/snapshot.ts";
import { tinyosElf } from "../guests/tinyos/image.ts";

const MODES = ["hypervisor", "bare"] as const;
type Mode = typeof MODES[number];

function tinyos(mode: Mode): Machine {
  return createMachine({
    kernel: { name: "tinyos.elf", bytes: tinyosElf() },
    clock: "virtual",
    rtcBase: Date.UTC(2026, 0, 1),
    hypervisor: mode === "hypervisor",
    isa: "rv64imac",
  });
}

async function until(m: Machine, text: string): Promise<void> {
  const r = await m.run({ until: text, maxInstructions: 50_000_000 });
  assert.equal(r.stop, "until", `no ${JSON.stringify(text)}: ${m.consoleText.slice(-200)}`);
}

/** Types `line` at the prompt and returns the console text up to the next prompt. */
async function command(m: Machine, line: string): Promise<string> {
  const from = m.consoleText.length;
  m.send(line + "\n");
  await until(m, "\n$ ");
  return m.consoleText.slice(from);
}

for (const mode of MODES) {
  Deno.test(`machine: guest and host instruction counts are told apart (${mode})`, async () => {
    const m = tinyos(mode);
    const r = await m.run({ until: "$ ", maxInstructions: 50_000_000 });
    assert.equal(r.stop, "until");
    assert.equal(m.guestInstructions, r.guestInstructions, "the first run started at reset");
    assert.equal(m.host.retired, r.hostInstructions);
    if (mode === "hypervisor") {
      const emulated = m.hypervisor!.guest.vcpu.emulated;
      assert.ok(emulated > 100, `${emulated} emulated`);
      assert.equal(r.guestInstructions, r.hostInstructions + emulated);
    } else {
      assert.equal(r.guestInstructions, r.hostInstructions);
    }
    // A second run counts from its own start.
    const r2 = await m.run({ maxInstructions: 100_000 });
    assert.equal(m.guestInstructions, r.guestInstructions + r2.guestInstructions);
  });

  Deno.test(`machine: saveSnapshot/loadSnapshot continue the run identically (${mode})`, async () => {
    const m = tinyos(mode);
    await until(m, "$ ");
    const bytes = m.saveSnapshot();
    const saved = m.guestInstructions;
    const first = await command(m, "uptime");
    assert.match(first, /up \d+\.\d{3} s, \d+ ticks/);
    const copy = tinyos(mode);
    copy.loadSnapshot(bytes);
    assert.equal(copy.guestInstructions, saved);
    assert.equal(await command(copy, "uptime"), first);
    // Through a file.
    const dir = Deno.makeTempDirSync({ prefix: "rvisor-machine-" });
    try {
      const file = `${dir}/tinyos.snap`;
      saveSnapshotFile(m, file);
      const fromFile = tinyos(mode);
      loadSnapshotFile(fromFile, file);
      assert.equal(fromFile.guestInstructions, m.guestInstructions);
      assert.equal(await command(fromFile, "uptime"), await command(m, "uptime"));
      assert.throws(
        () => loadSnapshotFile(fromFile, `${dir}/missing.snap`),
        (e) =>
          e instanceof SnapshotError &&
          e.message === `${dir}/missing.snap: cannot read the snapshot: no such file`,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
}

Deno.test("machine: a hypervisor snapshot into a bare machine names the hypervisor first", async () => {
  const hv = tinyos("hypervisor");
  await hv.run({ maxInstructions: 10_000 });
  const bytes = hv.saveSnapshot();
  const bare = tinyos("bare");
  const before = bare.guestInstructions;
  assert.throws(
    () => bare.loadSnapshot(bytes, "hv.snap"),
    (e) =>
      e instanceof SnapshotError &&
      /^hv\.snap: snapshot taken on a different machine: hypervisor is on in the snapshot but off here;/
        .test(e.message),
  );
  assert.equal(bare.guestInstructions, before, "the machine is left as it was");
  // And the other way round.
  assert.throws(
    () => hv.loadSnapshot(bare.saveSnapshot()),
    /different machine: hypervisor is off in the snapshot but on here/,
  );
});

Deno.test("machine: symbols() lists name, address, size and image; symbolize", () => {
  const m = tinyos("hypervisor");
  const symbols = m.symbols();
  assert.ok(symbols.length > 50, `${symbols.length} symbols`);
  for (let i = 1; i < symbols.length; i++) {
    assert.ok(symbols[i - 1].address <= symbols[i].address, "sorted by address");
  }
  const uptime = symbols.find((s) => s.name === "sys_uptime");
  assert.ok(uptime, "sys_uptime is listed");
  assert.equal(uptime.address, m.symbol("sys_uptime"));
  assert.equal(uptime.image, "kernel");
  assert.ok(uptime.size > 8 && uptime.size < 4096, `size ${uptime.size}`);
  assert.equal(m.symbolize(uptime.address), "sys_uptime");
  assert.equal(m.symbolize(uptime.address + 6), "sys_uptime+0x6");
  assert.equal(m.symbolize(0x1000), null, "nothing at or below the boot ROM");
});

for (const mode of MODES) {
  Deno.test(`machine: typed reads of virtual and physical memory, CSRs that always exist (${mode})`, async () => {
    const m = tinyos(mode);
    await until(m, "$ ");
    m.hookPc(m.symbol("sys_uptime"), () => true);
    m.send("uptime\n");
    assert.equal((await m.run({ maxInstructions: 50_000_000 })).stop, "breakpoint");
    const va = 0x4000_0006; // the shell's code, mapped by the guest's Sv39 table elsewhere
    const saved = m.readVirtual(va, 8);
    // Little-endian, unsigned, at an address that is not 8-byte aligned.
    m.writeVirtual(va, new Uint8Array([0xf0, 0xde, 0xbc, 0x9a, 0x88, 0x99, 0xaa, 0xbb]));
    const pa = m.translate(va)!;
    assert.notEqual(pa, va, "the reads go through a translation");
    const reads = [
      { at: va, u8: m.readU8, u16: m.readU16, u32: m.readU32, u64: m.readU64 },
      {
        at: pa,
        u8: m.readPhysicalU8,
        u16: m.readPhysicalU16,
        u32: m.readPhysicalU32,
        u64: m.readPhysicalU64,
      },
    ];
    for (const { at, u8, u16, u32, u64 } of reads) {
      assert.equal(u8.call(m, at), 0xf0);
      assert.equal(u16.call(m, at), 0xdef0);
      assert.equal(u32.call(m, at), 0x9abc_def0);
      assert.equal(u32.call(m, at + 4), 0xbbaa_9988);
      assert.equal(u64.call(m, at), 0xbbaa_9988_9abc_def0n);
    }
    m.writeVirtual(va, saved);
    assert.throws(() => m.readPhysicalU32(0x1000_0000), RangeError);
    assert.throws(() => m.readU64(0x7000_0000_0), RangeError);
    // No `!`: the type is bigint, and so is the value for every core CSR.
    const satp: bigint = m.readCsr("satp");
    assert.equal(BigInt.asUintN(64, satp) >> 60n, 8n, "Sv39");
    for (const name of CORE_CSRS) assert.equal(typeof m.readCsr(name), "bigint", name);
    assert.equal(m.readCsr("fcsr"), null, "no F on rv64imac");
  });

  Deno.test(`machine: system calls have their own hook; SBI calls stay with hookEcall (${mode})`, async () => {
    const m = tinyos(mode);
    const calls: SystemCall[] = [];
    const eids = new Set<number>();
    const trace = m.hookSyscall((c) => void calls.push(c));
    const sbi = m.hookEcall((c) => {
      assert.equal(c.from, 1);
      eids.add(c.eid);
    });
    await until(m, "$ ");
    await command(m, "uptime");
    const numbers = new Set(calls.map((c) => Number(c.number)));
    for (const n of [1, 2, 6]) assert.ok(numbers.has(n), `write, read, uptime: ${[...numbers]}`);
    const write = calls.find((c) => c.number === 1n)!;
    assert.ok(write.pc >= 0x4000_0000 && write.pc < 0x5000_0000, "from the shell's code");
    assert.equal(write.args.length, 6);
    assert.deepEqual([...eids], [0x54494d45], "the kernel's SBI set_timer calls only");
    // Answered in TypeScript: uptime(&u) returns a made-up time the kernel never saw.
    const fake = m.hookSyscall((c, mm) => {
      const u = new Uint8Array(16);
      new DataView(u.buffer).setBigUint64(0, 77n, true); // ticks
      new DataView(u.buffer).setBigUint64(8, 123_450_000n, true); // time: 12.345 s at 10 MHz
      mm.writeVirtual(Number(c.args[0]), u);
      return 0;
    }, 6);
    assert.match(await command(m, "uptime"), /up 12\.345 s, 77 ticks/);
    fake.remove(), trace.remove(), sbi.remove();
    assert.equal(m.events.wants("trap"), false);
    if (m.hypervisor) assert.equal(m.hypervisor.guest.vcpu.onException, null);
  });
}

Deno.test("machine: a system call answered in TypeScript retires, bare as under the hypervisor", async () => {
  const seen = await Promise.all(MODES.map(async (mode) => {
    const m = tinyos(mode);
    m.hookSyscall(() => 0, 7); // ps() finds no process: the shell prints only the header
    let prompts = 0;
    m.hook("console", (_, mm) => {
      if (!mm.consoleText.endsWith("$ ")) return;
      if (++prompts === 1) mm.send("ps\n");
      else mm.pause(); // both runs stop right after the same guest instruction
    });
    assert.equal((await m.run({ maxInstructions: 50_000_000 })).stop, "pause");
    return { instructions: m.guestInstructions, time: m.readCsr("time"), text: m.consoleText };
  }));
  assert.match(seen[0].text, /\$ ps\r\nPID +STATE +TICKS +NAME\r\n\$ $/);
  assert.deepEqual(seen[1], seen[0]);
});
