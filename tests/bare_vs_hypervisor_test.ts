/**
 * Every guest is a bare-vs-hypervisor oracle: in the virtual clock mode (time
 * follows the guest's retired instructions, emulated ones included) a
 * deterministic guest run bare and under the hypervisor prints the same
 * console bytes and takes the same traps, ecalls and timer interrupts at the
 * same guest instruction counts, seeing the same time. Input is typed from
 * hooks (at a console prompt, at a system call), so it too arrives at the
 * same guest instruction in both runs. tinyos, Debian's OpenSBI + U-Boot to
 * its prompt, and the ISA programs.
 */

import assert from "node:assert/strict";
import { createMachine, type Machine, type MachineConfig } from "../mod.ts";
import { buildGuests } from "../scripts/build-guests.ts";
import { exists, OPENSBI_FW_JUMP, UBOOT_SMODE } from "../scripts/host-tools.ts";
import { tinyosElf } from "../guests/tinyos/image.ts";

const ISA_BUILD = new URL("../guests/isa/build/", import.meta.url).pathname;
const ECALLS = new Set([8, 9, 11]);
/** A guest run that does not end by itself within this many instructions fails the test. */
const MAX_INSTRUCTIONS = 200_000_000;

/** What a run shows of the guest: console bytes, and one line per trap the guest took. */
interface Observed {
  console: string;
  traps: string[];
  instructions: number;
  stop: string;
}

/**
 * Runs `config` bare or under the hypervisor with the trap trace on; `drive`
 * adds the hooks that type input and end the run (m.pause() or a halt).
 */
async function observe(
  config: MachineConfig,
  hypervisor: boolean,
  drive: (m: Machine, console: () => string) => void,
): Promise<Observed> {
  const m = createMachine({
    ...config,
    clock: "virtual",
    rtcBase: Date.UTC(2026, 0, 1),
    hypervisor,
  });
  let text = "";
  const traps: string[] = [];
  m.hook("console", (e) => {
    for (const b of e.bytes) text += String.fromCharCode(b);
  });
  // The guest's traps: the hart's own when bare, those the hypervisor injects under it.
  m.hook(hypervisor ? "guestTrap" : "trap", (e, mm) => {
    let line = `${e.interrupt ? "irq" : "exc"} ${e.cause} pc ${e.pc.toString(16)} ` +
      `${e.from}->${e.to} n ${mm.guestInstructions} time ${mm.readCsr("time")}`;
    if (!e.interrupt && ECALLS.has(e.cause)) {
      line += ` a7 ${mm.getReg("a7")} a6 ${mm.getReg("a6")} a0 ${mm.getReg("a0")}`;
    }
    traps.push(line);
  });
  drive(m, () => text);
  const r = await m.run({ maxInstructions: MAX_INSTRUCTIONS });
  return { console: text, traps, instructions: m.guestInstructions, stop: r.stop };
}

/** Asserts the two runs agree, showing the first differing trap. */
function assertSame(bare: Observed, hv: Observed): void {
  const n = Math.min(bare.traps.length, hv.traps.length);
  const i = bare.traps.findIndex((t, k) => k < n && t !== hv.traps[k]);
  const at = i >= 0 ? i : n;
  assert.deepEqual(
    hv.traps.slice(Math.max(0, at - 2), at + 3),
    bare.traps.slice(Math.max(0, at - 2), at + 3),
    `trap ${at} of ${bare.traps.length} bare / ${hv.traps.length} under the hypervisor differs`,
  );
  assert.equal(hv.traps.length, bare.traps.length);
  assert.equal(hv.console, bare.console);
  assert.equal(hv.instructions, bare.instructions);
  assert.equal(hv.stop, bare.stop);
}

async function bothWays(
  config: MachineConfig,
  drive: (m: Machine, console: () => string) => void = () => {},
): Promise<Observed> {
  const bare = await observe(config, false, drive);
  const hv = await observe(config, true, drive);
  assertSame(bare, hv);
  return bare;
}

Deno.test("bare vs hypervisor: tinyos, with timer ticks and typed commands, to poweroff", async () => {
  const kernel = { name: "tinyos.elf", bytes: tinyosElf() };
  const SYS_SLEEP = 4n;
  const run = await bothWays({ kernel, isa: "rv64imac" }, (m, text) => {
    // Each command waits for the prompt and, for some, for the ticker's next sleep(HZ):
    // it comes after a timer tick, so timer interrupts happen between the commands.
    const script = [
      { line: "uptime", sleeps: 0 },
      { line: "ps", sleeps: 1 },
      { line: "mem 2", sleeps: 0 },
      { line: "uptime", sleeps: 2 },
      { line: "poweroff", sleeps: 0 },
    ];
    let prompts = 0, sleeps = 0, next = 0, sleepsAtPrompt = 0;
    const type = () => {
      const step = script[next];
      if (!step || prompts <= next || sleeps - sleepsAtPrompt < step.sleeps) return;
      m.send(step.line + "\n");
      next++;
    };
    m.hook("console", () => {
      if (!text().endsWith("$ ")) return;
      prompts++, sleepsAtPrompt = sleeps;
      type();
    });
    m.hookSyscall(() => {
      sleeps++;
      type();
    }, SYS_SLEEP);
  });
  assert.equal(run.stop, "halt", run.console.slice(-300));
  assert.match(run.console, /PID +STATE/);
  assert.equal([...run.console.matchAll(/up (\d+)\.\d{3} s, (\d+) ticks/g)].length, 2);
  assert.ok(run.traps.filter((t) => t.startsWith("irq 7")).length >= 2, "timer interrupts");
});

Deno.test({
  name: `bare vs hypervisor: OpenSBI + U-Boot to the prompt, version, sbi${
    exists(OPENSBI_FW_JUMP) && exists(UBOOT_SMODE)
      ? ""
      : " (skipped: Debian's opensbi and u-boot-qemu are not installed)"
  }`,
  ignore: !(exists(OPENSBI_FW_JUMP) && exists(UBOOT_SMODE)),
  async fn() {
    const run = await bothWays({
      bios: { name: OPENSBI_FW_JUMP, bytes: Deno.readFileSync(OPENSBI_FW_JUMP) },
      kernel: { name: UBOOT_SMODE, bytes: Deno.readFileSync(UBOOT_SMODE) },
      isa: "rv64imac",
    }, (m, text) => {
      // A key stops autoboot; `sbi` asks OpenSBI about itself with SBI calls. Then pause at
      // the prompt: from a hook, both runs stop right after the same instruction.
      const input = [" ", "version\n", "sbi\n"];
      m.hook("console", () => {
        const t = text();
        if (input.length === 3 && t.includes("Hit any key to stop autoboot")) {
          m.send(input.shift()!);
        } else if (t.endsWith("=> ")) {
          if (input.length !== 0) m.send(input.shift()!);
          else m.pause();
        }
      });
    });
    assert.equal(run.stop, "pause");
    assert.match(run.console, /=> version\r\nU-Boot 2023\.01.*\r\n\r\nriscv64-linux-gnu-gcc/);
    assert.match(run.console, /=> sbi\r\n[^]*\r\n {2}System Reset Extension\r\n[^]*=> $/);
    assert.ok(run.traps.filter((t) => t.startsWith("exc 9")).length > 10, "U-Boot's SBI calls");
  },
});

await buildGuests();
const programs = [...Deno.readDirSync(ISA_BUILD)].map((e) => e.name)
  .filter((name) => name.endsWith(".elf")).sort();

for (const name of programs) {
  Deno.test(`bare vs hypervisor: ISA program ${name.replace(".elf", "")}`, async () => {
    const run = await bothWays({
      kernel: { name, bytes: Deno.readFileSync(ISA_BUILD + name) },
      isa: name.startsWith("fp_") ? "rv64imafdc" : "rv64imac",
    });
    assert.equal(run.stop, "halt");
  });
}
