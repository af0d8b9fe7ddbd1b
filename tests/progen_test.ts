/**
 * Generated programs (scripts/progen.ts) on rvisor and on QEMU
 * (scripts/progen-diff.ts): 10,000 seeds in 10 programs, plus every case of
 * the regression file tests/progen_regressions.json (run from its stored
 * program text), must report the same registers, data region and trap log on
 * both, with rvisor's block translator on and off. Larger runs: `deno run -A scripts/progen-diff.ts --seeds 1000000`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { generateBody, generateProgram, Rng } from "../scripts/progen.ts";
import {
  diffMany,
  recordSeeds,
  REGRESSION_FILE,
  regressionCases,
  runRvisor,
} from "../scripts/progen-diff.ts";
import { hostTest, missing, QEMU } from "../scripts/host-tools.ts";

const SEEDS = 10_000;
const PER_PROGRAM = 1000;

Deno.test("progen: a seed always gives the same program, and seeds differ", () => {
  assert.equal(generateProgram([1, 2]), generateProgram([1, 2]));
  assert.notDeepEqual(generateBody(1).code.slice(3), generateBody(2).code.slice(3));
  const a = new Rng(42), b = new Rng(42);
  for (let i = 0; i < 100; i++) assert.equal(a.next(), b.next());
});

Deno.test("progen: bodies exercise loads, stores, AMOs, LR/SC, CSRs, traps and loops", () => {
  const text = generateProgram(Array.from({ length: 50 }, (_, i) => i + 1));
  const wants = [
    "\n  ld x",
    "\n  sh x",
    "\n  amo",
    "\n  lr.",
    "\n  sc.",
    ", misa",
    "\n  ecall",
    "\n  c.ebreak",
    ".4byte",
    "\n  bnez x31",
    "\n  jalr",
  ];
  for (const want of wants) assert.ok(text.includes(want), `no ${JSON.stringify(want)}`);
});

Deno.test("progen: a regression case keeps its program text, whatever the generator gives now", () => {
  const file = Deno.makeTempFileSync({ suffix: ".json" });
  try {
    Deno.writeTextFileSync(file, "[]\n");
    recordSeeds([7, 9], "test", file);
    recordSeeds([7], "again", file);
    const cases = regressionCases(file);
    assert.deepEqual(cases.map((c) => [c.seed, c.note]), [[7, "test"], [9, "test"]]);
    assert.deepEqual({ table: cases[0].table, code: cases[0].code }, generateBody(7));
    // A stored body is what runs, not the seed's generated one.
    const stored = {
      table: ["s7_regs:", ...generateBody(8).table.slice(1)],
      code: ["s7:", "  nop"],
    };
    const text = generateProgram([7], { bodies: new Map([[7, stored]]) });
    assert.ok(text.includes("s7:\n  nop\n"), "the stored code");
    assert.ok(text.includes(stored.table[1]), "the stored registers");
    assert.ok(!text.includes(generateBody(7).code[5]), "not the generated code");
  } finally {
    Deno.removeSync(file);
  }
  // The repository's file parses, and each case's labels carry its seed.
  for (const c of regressionCases()) {
    assert.equal(c.code[0], `s${c.seed}:`, REGRESSION_FILE);
    assert.equal(c.table[0], `s${c.seed}_regs:`, REGRESSION_FILE);
  }
});

Deno.test(hostTest(
  "progen: a fence that straddles a page boundary runs (found by progen)",
  missing("riscv64-unknown-elf-gcc"),
  async () => {
    // Found by the first progen runs: an instruction decoded outside the decode
    // cache (page-crossing) that is a NOP (fence) made rvisor recurse until the
    // stack overflowed. The generated programs hit it by chance; this hits it
    // on purpose. Reported to the owner of core/hart.ts.
    const dir = await Deno.makeTempDir({ prefix: "progen-test-" });
    const src = `${dir}/fence.S`;
    await Deno.writeTextFile(
      src,
      [
        '  .section .text.init, "ax"',
        "  .globl _start",
        "_start:",
        "  .option norvc",
        "  j 1f",
        "  .balign 4096",
        "  .space 4094",
        "1:",
        "  fence",
        "  li t0, 0x100000",
        "  li t1, 0x5555",
        "  sw t1, 0(t0)",
        "2: j 2b",
      ].join("\n") + "\n",
    );
    const elf = `${dir}/fence.elf`;
    const root = new URL("../", import.meta.url).pathname;
    const r = await new Deno.Command("riscv64-unknown-elf-gcc", {
      args: [
        "-march=rv64imac_zicsr_zifencei",
        "-mabi=lp64",
        "-nostdlib",
        "-static",
        "-Wl,--no-warn-rwx-segments",
        `-T${root}guests/common/link.ld`,
        "-o",
        elf,
        src,
      ],
    }).output();
    assert.ok(r.success, new TextDecoder().decode(r.stderr));
    const lines = await runRvisor(elf);
    await Deno.remove(dir, { recursive: true });
    assert.deepEqual(lines, [], `rvisor: ${lines.join(" ")}`);
  },
));

/**
 * The translator as shipped, and the interpreter alone. (Compiling every block
 * that runs, at threshold 1, takes ten times as long here, 350 s, as each
 * program is new code; tests/translate_test.ts does that on 500 seeds.)
 */
const JIT_MODES = [["jit on", {}], ["jit off", { jit: false }]] as const;

for (const [how, jit] of JIT_MODES) {
  Deno.test(hostTest(
    `progen: ${SEEDS} seeds and the regression cases agree with QEMU (${how})`,
    missing("riscv64-unknown-elf-as", "riscv64-unknown-elf-ld", QEMU),
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "progen-test-" });
      const seeds = Array.from({ length: SEEDS }, (_, i) => i + 1);
      const t0 = performance.now();
      const bad = await diffMany(seeds, PER_PROGRAM, dir, undefined, undefined, jit);
      // The stored programs on their own (their seeds may be among the generated ones).
      const cases = regressionCases();
      const stored = new Map(cases.map((c) => [c.seed, c]));
      bad.push(
        ...await diffMany(cases.map((c) => c.seed), PER_PROGRAM, dir, undefined, stored, jit),
      );
      await Deno.remove(dir, { recursive: true });
      console.log(
        `progen: ${seeds.length} seeds and ${cases.length} regression cases compared with QEMU, ` +
          `${bad.length} disagree, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      const report = bad.slice(0, 10).map((b) =>
        `seed ${b.seed}: ${b.detail.join(", ") || b.rvisor || "(see the first ones)"}`
      ).join("\n");
      assert.equal(
        bad.length,
        0,
        `${bad.length} seeds disagree; record them with ` +
          `'deno run -A scripts/progen-diff.ts --first N --seeds 1':\n${report}`,
      );
    },
  ));
}
