/**
 * The instruction definitions of core/insns.ts as the interpreter runs them:
 * its hot loop (core/interp.ts) is generated from them, and with a pc hook on
 * every instruction the hart executes each one through `#executeOne` (ALU ops,
 * branches and load results generated from the templates) instead, and the
 * ISA programs must still pass.
 * tests/translate_test.ts covers the same templates inlined into blocks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createMachine } from "../hypervisor/machine.ts";
import { buildGuests } from "../scripts/build-guests.ts";
import { expand, INSN_BY_OP, INSNS, Kind } from "../core/insns.ts";
import { COLD_OPS, compileRunLoop, HOT_OPERANDS } from "../core/interp.ts";
import { Amo, Op, OP_COUNT } from "../core/decode.ts";

const ISA = new URL("../guests/isa/build/", import.meta.url).pathname;

await buildGuests();

Deno.test("insns: every integer and atomic op but the system ones has exactly one definition", () => {
  assert.equal(new Set(INSNS.map((d) => d.op)).size, INSNS.length);
  const atomics: number[] = [Op.AMO_W, Op.AMO_D];
  for (let op = Op.ADDI; op <= Op.NOP; op++) {
    assert.ok(INSN_BY_OP[op], `op ${op} has no definition`);
  }
  for (const op of atomics) assert.equal(INSN_BY_OP[op]?.kind, Kind.ATOMIC, `op ${op}`);
  for (let op = Op.FENCE_I; op < OP_COUNT; op++) {
    if (!atomics.includes(op)) assert.equal(INSN_BY_OP[op], undefined);
  }
  for (const d of INSNS) {
    const accesses = d.kind === Kind.LOAD || d.kind === Kind.STORE || d.kind === Kind.ATOMIC;
    assert.equal(d.size !== 0, accesses, `op ${d.op}`);
  }
});

Deno.test("insns: an atomic's template is specialised on its funct5, every one a different source", () => {
  for (const op of [Op.AMO_W, Op.AMO_D]) {
    const d = INSN_BY_OP[op]!;
    const sources = Object.values(Amo).map((f5) => expand(d, f5, HOT_OPERANDS));
    assert.equal(new Set(sources).size, sources.length);
    assert.throws(() => expand(d, "imm", HOT_OPERANDS), /funct5/);
  }
});

for (const name of ["alu", "branch", "muldiv", "compressed", "loadstore", "atomic"]) {
  Deno.test(`insns: ${name}.elf passes with every instruction on the cold path`, async () => {
    const m = createMachine({
      kernel: { name, bytes: Deno.readFileSync(`${ISA}${name}.elf`) },
      clock: "virtual",
      hypervisor: false,
    });
    let hooked = 0;
    m.hookPc([0x8000_0000, 0x8001_0000], () => void hooked++);
    const r = await m.run({ maxInstructions: 5_000_000 });
    assert.equal(r.stop, "halt");
    assert.equal(r.reason, "poweroff", `case ${r.exitCode} failed`);
    assert.ok(hooked > 200, `only ${hooked} instructions hooked`);
  });
}

Deno.test("insns: the interpreter's hot loop is the definitions' templates, but for the cold ops", () => {
  const src = compileRunLoop({}).toString();
  for (const d of INSNS) {
    const hot = !COLD_OPS.has(d.op);
    assert.equal(src.includes(`case ${d.op}:`), hot, `op ${d.op}`);
    if (hot) assert.ok(src.includes(expand(d, "imm", HOT_OPERANDS)), `op ${d.op}'s template`);
  }
  // Only ops without a definition are left to the hart's own cases.
  for (let op = Op.NOP + 1; op < OP_COUNT; op++) assert.ok(!src.includes(`case ${op}:`));
});
