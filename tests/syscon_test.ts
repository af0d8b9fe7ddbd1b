import assert from "node:assert/strict";
import type { HaltReason } from "../core/events.ts";
import { Syscon } from "../devices/syscon.ts";

function setup() {
  const halts: [HaltReason, number][] = [];
  const syscon = new Syscon((reason, code) => halts.push([reason, code]));
  return { halts, syscon };
}

Deno.test("syscon: 0x5555 powers off with code 0, whatever the upper bits", () => {
  const { halts, syscon } = setup();
  syscon.write(0, 4, 0x5555);
  syscon.write(0, 4, 0x0007_5555);
  assert.deepEqual(halts, [["poweroff", 0], ["poweroff", 0]]);
});

Deno.test("syscon: 0x3333 fails with the code from bits 31:16", () => {
  const { halts, syscon } = setup();
  syscon.write(0, 4, (42 << 16) | 0x3333);
  syscon.write(0, 4, 0xffff_3333);
  syscon.write(0, 4, 0x3333);
  assert.deepEqual(halts, [["fail", 42], ["fail", 0xffff], ["fail", 0]]);
});

Deno.test("syscon: 0x7777 requests a reset", () => {
  const { halts, syscon } = setup();
  syscon.write(0, 4, 0x7777);
  assert.deepEqual(halts, [["reset", 0]]);
});

Deno.test("syscon: other values and other offsets are ignored, reads are 0", () => {
  const { halts, syscon } = setup();
  syscon.write(0, 4, 0x1234);
  syscon.write(0, 4, 0x5556);
  syscon.write(4, 4, 0x5555);
  assert.deepEqual(halts, []);
  assert.equal(syscon.read(0, 4), 0);
});

Deno.test("syscon: a 16-bit write of the status is enough", () => {
  const { halts, syscon } = setup();
  syscon.write(0, 2, 0x5555);
  assert.deepEqual(halts, [["poweroff", 0]]);
});
