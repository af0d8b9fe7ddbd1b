/**
 * Each example in scripts/ runs (as `deno run -A scripts/NAME.ts`, the way
 * users run them, and one through `boot.ts --script`) and prints what it
 * should.
 */

import assert from "node:assert/strict";
import { buildGuests } from "../scripts/build-guests.ts";

const ROOT = new URL("..", import.meta.url).pathname;
await buildGuests(); // guests/sbi/build/hello.elf

async function run(args: string[], stdin?: string): Promise<{ code: number; out: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: ROOT,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const { code, stdout, stderr } = await child.output();
  const dec = new TextDecoder();
  return { code, out: dec.decode(stdout) + dec.decode(stderr) };
}

for (const mode of ["hypervisor", "bare"] as const) {
  const flags = mode === "bare" ? ["--bare"] : [];

  Deno.test(`scripts: trace-traps prints each trap with cause and pc (${mode})`, async () => {
    const { code, out } = await run(["scripts/trace-traps.ts", ...flags]);
    assert.equal(code, 0, out);
    assert.match(out, /trap exception 8 \(ecall from U-mode\) pc 0x4000[0-9a-f]{4} tval 0x0 U->S/);
    assert.match(
      out,
      /trap exception 15 \(store\/AMO page fault\) pc 0x4[0-9a-f]+ tval 0x40001000/,
    );
    assert.match(out, /trap interrupt 5 \(supervisor timer interrupt\)|trap interrupt 9/);
  });

  Deno.test(`scripts: watch-csr logs satp and mstatus writes (${mode})`, async () => {
    const { code, out } = await run(["scripts/watch-csr.ts", ...flags]);
    assert.equal(code, 0, out);
    assert.match(out, /csr satp +pc 0x8[0-9a-f]+ S-mode: 0x0 -> 0x80000000000[0-9a-f]{5}/);
    assert.match(out, /csr mstatus pc 0x8[0-9a-f]+ M-mode: /);
  });

  Deno.test(`scripts: inject-fault turns the 2nd page fault into an access fault (${mode})`, async () => {
    const { code, out } = await run(["scripts/inject-fault.ts", ...flags]);
    assert.equal(code, 0, out);
    assert.match(out, /page fault #2 \(store\/AMO page fault .*\) delivered as cause 7/);
    assert.match(
      out,
      /\| tinyos: pid 1 \(sh\) killed: scause 0x7 sepc 0x[0-9a-f]+ stval 0x40002000/,
    );
  });

  Deno.test(`scripts: breakpoint stops at proc_fault and dumps registers (${mode})`, async () => {
    const { code, out } = await run(["scripts/breakpoint.ts", ...flags]);
    assert.equal(code, 0, out);
    assert.match(out, /breakpoint: proc_fault at 0x8[0-9a-f]+/);
    assert.match(out, /pc 0x8[0-9a-f]+ {2}privilege S/);
    assert.match(out, / {2}sp +0x8[0-9a-f]+/);
    assert.match(out, /scause 0xf/);
    assert.match(out, /run stopped: breakpoint/);
  });

  Deno.test(`scripts: sbi-extension answers the guest's SBI calls (${mode})`, async () => {
    const { code, out } = await run(["scripts/sbi-extension.ts", ...flags]);
    assert.equal(code, 0, out);
    assert.match(out, /sbi: extension present/);
    assert.match(out, /sbi: version 0x0000000000010002/);
    assert.match(out, /sbi: add\(40, 2\) = 42: ok/);
    assert.match(out, /3 calls answered; guest exit code 0/);
  });
}

Deno.test("scripts: count-exits prints the exit table at the prompt", async () => {
  const { code, out } = await run(["scripts/count-exits.ts"]);
  assert.equal(code, 0, out);
  assert.match(out, /exit kind +count +host cause/);
  assert.match(out, /shadow-fill +\d+ +exc 1[235]/);
  assert.match(out, /ecall +\d+ +exc 8 ecall from U-mode/);
  const total = /total +(\d+) +\(hypervisor's count: (\d+)\)/.exec(out);
  assert.ok(total && total[1] === total[2], "the hook saw every exit");
});

Deno.test("scripts: without the hook, the SBI guest's firmware says no", async () => {
  const { code, out } = await run(["boot.ts", "--kernel", "guests/sbi/build/hello.elf"]);
  assert.equal(code, 0, out);
  assert.match(out, /sbi: extension not available/);
});

Deno.test("scripts: boot.ts --script and --trace", async () => {
  const sbi = await run([
    "boot.ts",
    "--kernel",
    "guests/sbi/build/hello.elf",
    "--script",
    "scripts/sbi-extension.ts",
    "--trace",
    "guestTrap,halt",
  ]);
  assert.equal(sbi.code, 0, sbi.out);
  assert.match(sbi.out, /sbi: add\(40, 2\) = 42: ok/);
  assert.match(sbi.out, /halt poweroff code 0/);
  assert.doesNotMatch(sbi.out, /guestTrap exc 9/, "answered calls never reach guest M-mode");
  const exits = await run(
    ["boot.ts", "--clock", "virtual", "--script", "scripts/count-exits.ts"],
    "poweroff\n",
  );
  assert.equal(exits.code, 0, exits.out);
  assert.match(exits.out, /total +\d+ +\(hypervisor's count: \d+\)/);
  const bp = await run(
    ["boot.ts", "--clock", "virtual", "--script", "scripts/breakpoint.ts"],
    "mem 1\n",
  );
  assert.equal(bp.code, 0, bp.out);
  assert.match(bp.out, /rvisor: stopped by the script \(breakpoint\) at pc 0x8/);
  const bad = await run(["boot.ts", "--script", "scripts/script-main.ts"]);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /--script scripts\/script-main.ts: needs a default export/);
});
