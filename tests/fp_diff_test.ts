/**
 * F/D against QEMU 7.2 on generated operands (scripts/fp-diff.ts): every
 * F/D operation, in every rounding mode where it rounds, on edge values and
 * random ones; result bits and fflags must agree record by record. The CI
 * size is small (a few seconds); `deno run -A scripts/fp-diff.ts --per 2000`
 * is the large run.
 */

import assert from "node:assert/strict";
import { hostTest } from "../scripts/host-tools.ts";
import {
  buildFpProgram,
  compareResults,
  describeMismatch,
  FP_OPS,
  generateRecords,
  missingTools,
  runOnQemu,
  runOnRvisor,
} from "../scripts/fp-diff.ts";

/** Records per (operation, rounding mode) in CI. */
const PER = 150;

const tools = missingTools();

Deno.test(hostTest(
  `fp diff: ${FP_OPS.length} F/D operations x rounding modes x ${PER} operands agree with QEMU (bits and fflags)`,
  tools,
  async () => {
    const records = generateRecords(PER, 2);
    const dir = await Deno.makeTempDir({ prefix: "rvisor-fp-test-" });
    try {
      const elf = await buildFpProgram(records, dir);
      const [qemu, rv] = await Promise.all([runOnQemu(elf), runOnRvisor(elf)]);
      const mismatches = compareResults(records, qemu, rv.lines);
      assert.equal(
        mismatches.length,
        0,
        `${mismatches.length} of ${records.length} records differ:\n` +
          mismatches.slice(0, 20).map(describeMismatch).join("\n"),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
));

Deno.test("fp diff: the generator is deterministic and covers every operation", () => {
  const a = generateRecords(3, 5), b = generateRecords(3, 5);
  assert.deepEqual(a, b);
  assert.equal(new Set(a.map((r) => r.op)).size, FP_OPS.length);
});
