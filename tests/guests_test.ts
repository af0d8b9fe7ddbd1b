/**
 * Several guests under the hypervisor (hypervisor/guests.ts): two tinyos
 * guests side by side through createMachine({ guests }), each reaching its
 * prompt and typed into on its own UART, the same output and counts in two
 * `clock: "virtual"` runs, a guest's poweroff ending it alone, a replaced
 * scheduling policy, snapshots, and the layout checks; guests with several
 * vCPUs (smp.elf beside tinyos, a 2-vCPU double fault, boot.ts smp=); two
 * kernels idle until their timer ticks; and Debian's Linux with 2 vCPUs
 * (scripts/fetch-linux.ts's cache) beside tinyos, both typed into.
 */

import assert from "node:assert/strict";
import { createMachine, type Machine } from "../hypervisor/machine.ts";
import { MachineConfigError } from "../devices/board.ts";
import type { ScheduleInfo } from "../hypervisor/guests.ts";
import { INIT_MARKER, linuxForTests, REPRODUCIBLE_RTC_BASE } from "../scripts/fetch-linux.ts";
import { buildGuests } from "../scripts/build-guests.ts";
import { promptSession } from "./prompt_session.ts";
import { HANG_GUARD_MS } from "../scripts/host-tools.ts";

await buildGuests();
const TRAP_LOOP = new URL("../guests/adversarial/build/trap_loop.elf", import.meta.url).pathname;

const MiB = 1024 * 1024;
/** tinyos reaches its prompt in under 1 M instructions; a command takes far fewer. */
const BUDGET = 60_000_000;
const RTC_BASE = 1_700_000_000_000;

function twoTinyos(extra: Record<string, unknown> = {}): Machine {
  return createMachine({
    clock: "virtual",
    guests: [{ rtcBase: RTC_BASE }, { rtcBase: RTC_BASE }],
    ...extra,
  });
}

/** Runs until guest `i`'s console shows `text` (after what it showed when called). */
async function waitFor(m: Machine, i: number, text: string): Promise<void> {
  const r = await m.guests[i].run({ until: text, maxInstructions: BUDGET });
  assert.equal(
    r.stop,
    "until",
    `guest ${i}: no '${text}' (${r.stop}):\n${m.guests[i].consoleText}`,
  );
}

/** Types `line` on guest `i` and returns its answer (the text between the echo and the prompt). */
async function command(m: Machine, i: number, line: string): Promise<string> {
  const before = m.guests[i].consoleText.length;
  m.guests[i].send(line + "\n");
  await waitFor(m, i, "\n$ ");
  const text = m.guests[i].consoleText.slice(before);
  return text.slice(text.indexOf("\r\n") + 2, text.lastIndexOf("\n$ ") + 1).replaceAll("\r", "");
}

/** Both guests to their prompts, each typed into; returns each console and the counts. */
async function session(m: Machine) {
  for (const i of [0, 1]) if (!m.guests[i].consoleText.includes("$ ")) await waitFor(m, i, "$ ");
  assert.equal(await command(m, 0, "echo guest zero"), "guest zero\n");
  assert.equal(await command(m, 1, "echo guest one"), "guest one\n");
  await m.run({ maxInstructions: 2_000_000 });
  return {
    consoles: m.guests.map((g) => g.consoleText),
    instructions: m.guests.map((g) => g.instructions),
    total: m.guestInstructions,
    slices: [...m.switcher!.slices],
  };
}

Deno.test("two tinyos guests: each reaches its prompt and answers what is typed on its own UART", async () => {
  const m = twoTinyos();
  const s = await session(m);
  for (const text of s.consoles) assert.match(text, /tinyos: started sh/);
  // The other guest's input never shows up on a guest's console.
  assert.ok(!s.consoles[0].includes("guest one"));
  assert.ok(!s.consoles[1].includes("guest zero"));
  assert.ok(s.slices[0] > 1 && s.slices[1] > 1, `slices ${s.slices}`);
  assert.equal(s.instructions[0] + s.instructions[1], s.total);
  assert.equal(m.halted, null);
});

Deno.test("two tinyos guests under clock virtual: the same output, counts and slices twice", async () => {
  const a = await session(twoTinyos());
  const b = await session(twoTinyos());
  assert.deepEqual(b, a);
});

Deno.test("two guests: the machine console is the focused guest's; focus moves it", async () => {
  const seen: number[] = [];
  const m = twoTinyos({ console: (b: number) => seen.push(b) });
  m.focus(1);
  const r = await m.run({ until: "$ ", maxInstructions: BUDGET });
  assert.equal(r.stop, "until");
  assert.equal(new TextDecoder().decode(Uint8Array.from(seen)), m.guests[1].consoleText);
  m.send("echo via the machine\n");
  await waitFor(m, 1, "via the machine\r\n");
  assert.ok(!m.guests[0].consoleText.includes("via the machine"));
});

Deno.test("two guests: one powers off and ends alone; the run ends when the other does", async () => {
  const m = twoTinyos();
  await waitFor(m, 0, "$ ");
  m.guests[0].send("poweroff\n");
  let r = await m.run({ maxInstructions: 20_000_000 });
  assert.equal(r.stop, "limit");
  assert.equal(m.guests[0].halted?.reason, "poweroff");
  assert.equal(m.guests[1].halted, null);
  const stopped = m.guests[0].instructions;
  if (!m.guests[1].consoleText.includes("$ ")) await waitFor(m, 1, "$ ");
  assert.equal(await command(m, 1, "echo still here"), "still here\n");
  assert.equal(m.guests[0].instructions, stopped, "a halted guest ran again");
  m.guests[1].send("poweroff\n");
  r = await m.run({ maxInstructions: BUDGET });
  assert.equal(r.stop, "halt");
  assert.equal(r.reason, "poweroff");
  assert.equal(r.exitCode, 0);
  assert.equal(r.message, "guest 0: guest poweroff; guest 1: guest poweroff");
});

Deno.test("two guests: a replaced scheduling policy picks the next guest", async () => {
  const calls: ScheduleInfo[] = [];
  // Guest 1 runs only when guest 0 is idle: guest 0's slices all go back to it.
  const m = twoTinyos({
    slice: 10_000,
    schedule: (info: ScheduleInfo) => {
      calls.push(structuredClone(info));
      return info.guests[0].idle ? 1 : 0;
    },
  });
  await waitFor(m, 0, "$ ");
  await m.run({ maxInstructions: 5_000_000 });
  assert.ok(calls.length > 0);
  assert.ok(calls.every((c) => c.guests.length === 2 && c.guests.every((g) => !g.ended)));
  assert.ok(calls.some((c) => c.reason === "slice"));
  m.switcher!.policy = () => 7;
  await assert.rejects(
    () => m.run({ maxInstructions: BUDGET }),
    /schedule policy chose 7: not a guest that can run \(0, 1\)/,
  );
});

Deno.test("two guests: a snapshot saves and restores every guest", async () => {
  const m = twoTinyos();
  await waitFor(m, 0, "$ ");
  const bytes = m.saveSnapshot();
  const after = await session(m);
  const n = twoTinyos();
  n.loadSnapshot(bytes);
  assert.deepEqual(await session(n), after);
  const other = createMachine({ clock: "virtual", guests: [{}, {}, {}] });
  assert.throws(() => other.loadSnapshot(bytes), /guests/);
});

Deno.test("two guests: a double fault ends that guest alone, with a report naming it", async () => {
  const kernel = { name: "trap_loop.elf", bytes: Deno.readFileSync(TRAP_LOOP) };
  const m = createMachine({ clock: "virtual", guests: [{ kernel }, { rtcBase: RTC_BASE }] });
  await waitFor(m, 1, "$ ");
  const crashed = m.guests[0].hypervisor;
  assert.match(crashed.panicReport ?? "", /^rvisor hypervisor \(guest 0\): guest double fault/);
  assert.equal(crashed.panicIsGuestFault, true);
  assert.equal(m.guests[0].halted?.reason, "error");
  assert.equal(m.halted, null);
  assert.equal(await command(m, 1, "echo unharmed"), "unharmed\n");
  // While guest 1 has the hart, guest 0's report shows guest 0's own registers.
  assert.equal(m.switcher!.current, 1);
  const pc = crashed.registers.pc;
  assert.notEqual(pc, m.vm.hart.pc);
  assert.match(crashed.report("now"), new RegExp(`^guest pc 0x${pc.toString(16)}\\b`, "m"));
});

Deno.test("two guests: layout and config errors name the guest and the problem", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { guests: [{ guestOffset: 0x500_0000 }, { guestOffset: 0x600_0000 }] },
      /^guest 1: RAM window 0x6000000\.\.0xe000000 overlaps guest 0's 0x5000000\.\.0xd000000/,
    ],
    [
      { guests: [{}, { guestOffset: 0x100_0000 + 4096 }] },
      /^guest 1: guest offset 0x1001000 must be a multiple of 2 MiB/,
    ],
    [
      { guests: [{}, { shadowPages: 2 }] },
      /^guest 1: shadow pool of 2 pages: at least 4 are needed/,
    ],
    [
      { guests: [{ memory: 64 * MiB }] },
      /^guest 0: memory 67108864: the default guest \(tinyos\) needs at least 128 MiB/,
    ],
    [
      { guests: [{}], kernel: { name: "k", bytes: new Uint8Array(4) } },
      /config\.kernel: with config\.guests, give it in each guest entry/,
    ],
    [{ guests: [{}], hypervisor: false }, /several guests run under the hypervisor/],
    [{ slice: 5 }, /config\.slice needs config\.guests/],
  ];
  for (const [config, message] of cases) {
    assert.throws(() => createMachine(config), (e: Error) => {
      assert.ok(e instanceof MachineConfigError, `${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(() => createMachine({ guests: [] }), /config\.guests.*non-empty array/);
  assert.throws(() => createMachine({ guests: [{ frobnicate: 1 } as never] }), /frobnicate/);
});

const SMP_ELF = new URL("../guests/smp/build/smp.elf", import.meta.url).pathname;
const SMP_LINE = (n: number) =>
  `smp: ${n} harts, seen ${2 ** n - 1}, amo ${n}000, lrsc ${n}000, lock ${n}000, patched 42\n`;

/** tinyos (guest 0, one vCPU) beside smp.elf with `smp` vCPUs (guest 1); short slices switch mid-run. */
function tinyosAndSmp(smp: number, slice = 100): Machine {
  return createMachine({
    clock: "virtual",
    slice,
    guests: [{ rtcBase: RTC_BASE }, {
      kernel: { name: "smp.elf", bytes: Deno.readFileSync(SMP_ELF) },
      smp,
      rtcBase: RTC_BASE,
    }],
  });
}

/** Runs until guest 1 (smp.elf) powers off and tinyos answers a command; returns the end state. */
async function smpSession(m: Machine) {
  if (!m.guests[0].consoleText.includes("$ ")) await waitFor(m, 0, "$ ");
  for (let n = 0; !m.guests[1].halted && n < 100; n++) await m.run({ maxInstructions: 100_000 });
  assert.equal(m.guests[1].halted?.reason, "poweroff", m.guests[1].consoleText);
  assert.equal(await command(m, 0, "echo beside smp"), "beside smp\n");
  return {
    consoles: m.guests.map((g) => g.consoleText),
    instructions: m.guests.map((g) => g.instructions),
    vcpus: m.switcher!.hypervisors[1].vcpus.map((v) => m.switcher!.vcpuRetired(1, v.vcpuIndex)),
    total: m.guestInstructions,
    slices: [...m.switcher!.slices],
    retired: m.vm.harts.map((h) => h.retired),
  };
}

Deno.test("guests with vCPUs: smp.elf with 3 vCPUs beside tinyos: both finish, switched mid-run, the same twice", async () => {
  const m = tinyosAndSmp(3);
  // The host has as many harts as the guest with the most vCPUs.
  assert.equal(m.vm.harts.length, 3);
  assert.deepEqual(m.switcher!.hypervisors.map((hv) => hv.vcpus.length), [1, 3]);
  const a = await smpSession(m);
  assert.equal(a.consoles[1], SMP_LINE(3));
  assert.ok(a.slices[1] > 1, `smp.elf ran in several slices: ${a.slices}`);
  // Every vCPU of guest 1 ran on its own hart; the counts add up.
  for (const n of a.vcpus) assert.ok(n > 1000, `${a.vcpus}`);
  const hv = m.switcher!.hypervisors[1];
  assert.equal(a.instructions[1], a.vcpus.reduce((x, y) => x + y, 0) + hv.emulated);
  assert.equal(a.instructions[0] + a.instructions[1], a.total);
  assert.deepEqual(await smpSession(tinyosAndSmp(3)), a);
});

Deno.test("guests with vCPUs: a snapshot while smp.elf's 2 vCPUs are switched out continues exactly", async () => {
  const m = tinyosAndSmp(2);
  // Until guest 1 has run some but not all, and guest 0 has the harts.
  while (m.switcher!.current !== 0 || m.guests[1].instructions < 5000) {
    await m.run({ maxInstructions: 500 });
  }
  assert.equal(m.guests[1].halted, null);
  const bytes = m.saveSnapshot();
  const n = tinyosAndSmp(2);
  n.loadSnapshot(bytes);
  assert.deepEqual(n.saveSnapshot(), bytes);
  assert.deepEqual(await smpSession(n), await smpSession(m));
  assert.throws(() => tinyosAndSmp(3).loadSnapshot(bytes), /harts is 2 in the snapshot but 3 here/);
});

Deno.test("guests with vCPUs: a double fault in a 2-vCPU guest ends it alone, the report naming guest and vCPU", async () => {
  const kernel = { name: "trap_loop.elf", bytes: Deno.readFileSync(TRAP_LOOP) };
  const m = createMachine({
    clock: "virtual",
    guests: [{ rtcBase: RTC_BASE }, { kernel, smp: 2 }],
  });
  await waitFor(m, 0, "$ ");
  await m.run({ maxInstructions: 5_000_000 });
  assert.equal(m.guests[1].halted?.reason, "error");
  const crashed = m.switcher!.hypervisors[1].vcpus.find((v) => v.panicReport);
  assert.match(
    crashed?.panicReport ?? "",
    new RegExp(`^rvisor hypervisor \\(guest 1, vCPU ${crashed?.vcpuIndex}\\): guest double fault`),
  );
  assert.equal(await command(m, 0, "echo unharmed"), "unharmed\n");
});

Deno.test("guests with vCPUs: boot.ts --guest ...,smp=2 beside tinyos; --stats has each guest's vCPUs", async () => {
  const r = await promptSession(
    Deno.execPath(),
    [
      ...["run", "-A", "boot.ts", "--clock", "virtual", "--stats", "--timeout", "300"],
      ...["--guest", "mem=128M", "--guest", `kernel=${SMP_ELF},smp=2,serial=/dev/null`],
    ],
    new URL("../", import.meta.url).pathname,
    ["echo typed into zero", "poweroff"],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^typed into zero\r?$/m);
  assert.match(
    r.stderr,
    /^guest 1:\n {2}instructions retired {2}\d+\n {2}vCPU 0 +\d+ instructions, \d+ exits\n {2}vCPU 1 +\d+ instructions, \d+ exits\n/m,
  );
  assert.doesNotMatch(r.stderr, /^guest 0:\n {2}instructions retired {2}\d+\n {2}vCPU/m);
  assert.equal(r.stderr.match(/state {17}guest poweroff/g)?.length, 2, r.stderr);
  assert.match(r.stderr, /^ {2}hart 1 /m);
});

Deno.test("two guests idle until their timers (built-in firmware): a deadline passed while switched out wakes its kernel", async () => {
  // guests/sbi/ticks.S waits in wfi for 20 SBI timer ticks, as an idle Linux does. Its
  // deadlines pass while the other one has the hart: the MTIP must make it busy (it once
  // did not, and the machine sat idle at that deadline forever: Linux beside tinyos in
  // boot.ts froze before its first prompt) and become the kernel's STIP when it runs.
  const kernel = {
    name: "ticks.elf",
    bytes: Deno.readFileSync(new URL("../guests/sbi/build/ticks.elf", import.meta.url)),
  };
  const m = createMachine({
    clock: "virtual",
    guests: [{ kernel, firmware: "builtin" }, { kernel, firmware: "builtin" }],
  });
  const r = await m.run({ maxInstructions: 1_000_000, timeoutMs: HANG_GUARD_MS });
  assert.equal(r.stop, "halt", `${r.stop}: ${m.guests.map((g) => g.consoleText)}`);
  assert.equal(r.message, "guest 0: guest poweroff; guest 1: guest poweroff");
  for (const g of m.guests) assert.equal(g.consoleText, ".".repeat(20) + "\nticks: done\n");
  assert.ok(m.switcher!.slices.every((n) => n > 10), `slices ${m.switcher!.slices}`);
});

// As linux_test: the cache, or (RVISOR_LINUX=1, as CI runs) a fetch that waits on another
// test file's; a failed fetch fails the test.
const linux = await linuxForTests();
Deno.test({
  name: typeof linux === "string"
    ? `two guests: Linux and tinyos (ignored: ${linux})`
    : "two guests: Linux with 2 vCPUs and tinyos side by side, each at its prompt and typed into",
  ignore: typeof linux === "string",
  async fn() {
    if (typeof linux === "string") return;
    if (linux instanceof Error) throw linux;
    const read = (name: string) => ({ name, bytes: Deno.readFileSync(name) });
    // tinyos never idles long (its shell polls), and its exits make its slices slow: one
    // slice in ten keeps Linux's boot from taking ten times as long (and tests the policy).
    let choices = 0;
    const m = createMachine({
      clock: "virtual",
      jit: true,
      schedule: () => ++choices % 10 === 0 ? 1 : 0,
      guests: [
        {
          kernel: read(linux.kernel),
          initrd: read(linux.initrd),
          append: "console=ttyS0 earlycon=sbi no4lvl panic=-1",
          memory: 256 * MiB,
          firmware: "builtin",
          rtcBase: REPRODUCIBLE_RTC_BASE,
          smp: 2, // (boot.ts's pty test has Linux with one)
        },
        { rtcBase: REPRODUCIBLE_RTC_BASE },
      ],
    });
    const run = async (i: number, text: string, budget: number) => {
      const r = await m.guests[i].run({ until: text, maxInstructions: budget });
      assert.equal(
        r.stop,
        "until",
        `guest ${i}: no '${text}':\n${m.guests[i].consoleText.slice(-2000)}`,
      );
    };
    await run(0, INIT_MARKER, 4e9);
    assert.match(m.guests[1].consoleText, /\$ $/, "tinyos did not reach its prompt meanwhile");
    // busybox's first prompt asks the terminal for the cursor: an empty line settles it.
    if (!m.guests[0].consoleText.includes("# ")) await run(0, "# ", 1e9);
    m.guests[0].send("\n");
    await run(0, "# ", 1e9);
    m.guests[0].send("echo typed-in-li''nux; uname -m; nproc\n");
    await run(0, "typed-in-linux\r\nriscv64\r\n2\r\n", 1e9);
    assert.match(m.guests[0].consoleText, /smp: Brought up 1 node, 2 CPUs/);
    assert.equal(await command(m, 1, "echo typed in tinyos"), "typed in tinyos\n");
    assert.ok(!m.guests[1].consoleText.includes("linux"));
    assert.equal(m.halted, null);
    const slices = m.switcher!.slices;
    assert.ok(slices[1] > 0 && slices[0] > 5 * slices[1], `slices ${slices}`);
  },
});
