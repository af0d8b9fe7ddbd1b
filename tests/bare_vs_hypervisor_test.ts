/**
 * Bare vs hypervisor (scripts/bare-vs-hypervisor.ts): with the virtual clock,
 * the same console bytes and the same traps, ecalls and timer interrupts at
 * the same guest instruction counts and times, on tinyos (input typed from
 * hooks at a prompt and at a system call), Debian's OpenSBI + U-Boot and the
 * ISA programs; and the script's command line.
 */

import assert from "node:assert/strict";
import type { MachineConfig } from "../mod.ts";
import {
  type Driver,
  firstDifference,
  type GuestRun,
  observeGuest,
} from "../scripts/bare-vs-hypervisor.ts";
import { buildGuests } from "../scripts/build-guests.ts";
import { hostTest, missing, OPENSBI_FW_JUMP, UBOOT_SMODE } from "../scripts/host-tools.ts";
import { tinyosElf } from "../guests/tinyos/image.ts";

const ISA_BUILD = new URL("../guests/isa/build/", import.meta.url).pathname;
/** A guest run that does not end by itself within this many instructions fails the test. */
const MAX_INSTRUCTIONS = 200_000_000;

async function bothWays(config: MachineConfig, drive?: Driver): Promise<GuestRun> {
  const bare = await observeGuest(config, false, drive, MAX_INSTRUCTIONS);
  const hv = await observeGuest(config, true, drive, MAX_INSTRUCTIONS);
  assert.equal(firstDifference(bare, hv), null);
  assert.notEqual(bare.stop, "limit", "the guest run ended by itself (or by its driver)");
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

Deno.test(hostTest(
  "bare vs hypervisor: OpenSBI + U-Boot to the prompt, version, sbi",
  missing(OPENSBI_FW_JUMP, UBOOT_SMODE),
  async () => {
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
));

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

Deno.test("bare vs hypervisor: firstDifference names the first differing trap, byte or end", () => {
  const run = (traps: string[], console = "ok", stop = "halt", n = 10) => ({
    traps,
    console,
    stop,
    guestInstructions: n,
  });
  assert.equal(firstDifference(run(["a", "b"]), run(["a", "b"])), null);
  assert.match(firstDifference(run(["a", "b"]), run(["a", "c"]))!, /^trap 1 .*\n.*b\n.*c/);
  assert.match(firstDifference(run(["a"]), run(["a", "b"]))!, /^trap 1 [^]*bare: +\(none\)/);
  assert.match(firstDifference(run([], "okay"), run([], "ok!"))!, /^console byte 2/);
  assert.match(firstDifference(run([]), run([], "ok", "halt", 11))!, /^end: .* 10 .* 11$/);
  // Runs cut by an instruction limit compare up to the shorter one.
  assert.equal(firstDifference(run(["a"], "o", "limit"), run(["a", "b"], "ok", "limit")), null);
  assert.notEqual(firstDifference(run(["x"], "o", "limit"), run(["a", "b"], "ok", "limit")), null);
});

Deno.test("bare vs hypervisor: the script's command line", async () => {
  const script = new URL("../scripts/bare-vs-hypervisor.ts", import.meta.url).pathname;
  const run = async (args: string[]) => {
    const r = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", script, ...args] })
      .output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    return { code: r.code, text };
  };
  const ok = await run(["--kernel", `${ISA_BUILD}interrupt.elf`]);
  assert.equal(ok.code, 0, ok.text);
  assert.match(ok.text, /^same: \d+ traps, \d+ console bytes, \d+ guest instructions \(halt\)\n$/);
  const usage = await run(["--kernel", `${ISA_BUILD}interrupt.elf`, "--type", " "]);
  assert.equal(usage.code, 2);
  assert.equal(usage.text, "bare-vs-hypervisor: --type-after and --type go together\n");
  const max = await run(["--kernel", `${ISA_BUILD}interrupt.elf`, "--max", "lots"]);
  assert.equal(max.code, 2);
  assert.match(max.text, /--max lots: not a positive number of instructions/);
});
