import assert from "node:assert/strict";
import { FDT_MAGIC, FdtError, FdtNode, parseFdt, serializeFdt } from "../core/fdt.ts";
import { hostTest, missing } from "../scripts/host-tools.ts";

/** A small tree that uses every value kind. */
function sampleTree(): FdtNode {
  const root = new FdtNode("")
    .prop("#address-cells", 2)
    .prop("#size-cells", 2)
    .prop("compatible", "acme,board");
  root.child("memory@80000000")
    .prop("device_type", "memory")
    .prop("reg", { u64: [0x8000_0000, 0x800_0000] });
  const soc = root.child("soc").prop("ranges", null);
  soc.child("intc@1000").prop("phandle", 7).prop("interrupt-controller", null)
    .prop("compatible", ["acme,intc2", "acme,intc"]);
  soc.child("uart@2000").prop("interrupt-parent", 7).prop("interrupts", [10, 1])
    .prop("compatible", "acme,uart").prop("blob", new Uint8Array([1, 2, 3]));
  return root;
}

Deno.test("fdt: header has magic, version 17/16, consistent offsets and bootCpuId", () => {
  const dtb = serializeFdt(sampleTree(), { bootCpuId: 3 });
  const v = new DataView(dtb.buffer);
  const h = (i: number) => v.getUint32(i * 4);
  assert.equal(h(0), FDT_MAGIC);
  assert.equal(h(1), dtb.length, "totalsize");
  assert.equal(h(4), 40, "memory reservation block right after the header");
  assert.equal(h(2), 56, "struct block after the empty reservation block (one 16-byte terminator)");
  assert.equal(h(5), 17);
  assert.equal(h(6), 16);
  assert.equal(h(7), 3, "boot_cpuid_phys");
  assert.equal(h(3), h(2) + h(9), "strings follow struct");
  assert.equal(h(3) + h(8), dtb.length);
  assert.equal(v.getUint32(h(2)), 1, "struct starts with FDT_BEGIN_NODE");
  assert.equal(v.getUint32(h(2) + h(9) - 4), 9, "struct ends with FDT_END");
  assert.equal(h(2) % 4, 0);
});

Deno.test("fdt: property names are stored once in the strings block", () => {
  const dtb = serializeFdt(sampleTree());
  const v = new DataView(dtb.buffer);
  const strings = new TextDecoder().decode(dtb.subarray(v.getUint32(12))).split("\0");
  assert.equal(strings.filter((s) => s === "compatible").length, 1);
  assert.equal(strings.filter((s) => s === "phandle").length, 1);
  assert.ok(strings.includes("interrupt-parent"));
});

Deno.test("fdt: values encode big-endian, strings NUL-terminated, empty props empty", () => {
  const n = new FdtNode("x")
    .prop("s", "ab")
    .prop("l", ["a", "bc"])
    .prop("c", 0x12345678)
    .prop("cs", [1, 0xffff_ffff])
    .prop("w", { u64: [0x1_0000_0002] })
    .prop("e", null);
  assert.deepEqual([...n.props.get("s")!], [0x61, 0x62, 0]);
  assert.deepEqual([...n.props.get("l")!], [0x61, 0, 0x62, 0x63, 0]);
  assert.deepEqual([...n.props.get("c")!], [0x12, 0x34, 0x56, 0x78]);
  assert.deepEqual([...n.props.get("cs")!], [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual([...n.props.get("w")!], [0, 0, 0, 1, 0, 0, 0, 2]);
  assert.equal(n.props.get("e")!.length, 0);
});

Deno.test("fdt: values that are not u32/u64 are rejected", () => {
  const n = new FdtNode("x");
  assert.throws(() => n.prop("a", -1), FdtError);
  assert.throws(() => n.prop("a", 0x1_0000_0000), FdtError);
  assert.throws(() => n.prop("a", 1.5), FdtError);
  assert.throws(() => n.prop("a", { u64: [2 ** 53] }), FdtError);
  assert.throws(() => new FdtNode("a/b"), FdtError);
  assert.throws(() => serializeFdt(new FdtNode("notroot")), FdtError);
});

Deno.test("fdt: prop replaces in place and child returns the existing node", () => {
  const n = new FdtNode("");
  n.prop("a", 1).prop("b", 2).prop("a", 3);
  assert.deepEqual([...n.props.keys()], ["a", "b"]);
  assert.equal(n.u32("a"), 3);
  assert.equal(n.child("c"), n.child("c"));
  assert.equal(n.children.length, 1);
});

Deno.test("fdt: parse(serialize(tree)) gives back the same tree, order included", () => {
  const tree = sampleTree();
  const reservations = [{ address: 0x8000_0000, size: 0x20_0000 }, {
    address: 0x1_2345_6000,
    size: 0x1000,
  }];
  const parsed = parseFdt(serializeFdt(tree, { bootCpuId: 1, reservations }));
  assert.equal(parsed.bootCpuId, 1);
  assert.equal(parsed.version, 17);
  assert.deepEqual(parsed.reservations, reservations);
  const flatten = (root: FdtNode) =>
    [...root.walk()].map(([path, n]) => [path, [...n.props].map(([k, v]) => [k, [...v]])]);
  assert.deepEqual(flatten(parsed.root), flatten(tree));
  assert.equal(flatten(tree).length, 5);
});

Deno.test("fdt: typed getters, path lookup and phandle lookup", () => {
  const root = parseFdt(serializeFdt(sampleTree())).root;
  const uart = root.find("/soc/uart@2000")!;
  assert.equal(root.find("soc/uart")!, uart, "unit address may be left out when unique");
  assert.equal(root.find("/soc/nope"), null);
  assert.deepEqual(uart.cells("interrupts"), [10, 1]);
  assert.equal(uart.str("compatible"), "acme,uart");
  assert.deepEqual(root.find("soc/intc")!.strs("compatible"), ["acme,intc2", "acme,intc"]);
  assert.deepEqual(root.find("memory")!.u64s("reg"), [0x8000_0000, 0x800_0000]);
  assert.equal(root.findByPhandle(uart.u32("interrupt-parent")!), root.find("soc/intc@1000"));
  assert.equal(root.find("/"), root);
});

Deno.test("fdt: parser rejects bad magic, truncation and bad tokens", () => {
  const dtb = serializeFdt(sampleTree());
  const badMagic = dtb.slice();
  badMagic[0] = 0;
  assert.throws(() => parseFdt(badMagic), /bad DTB magic/);
  assert.throws(() => parseFdt(dtb.subarray(0, 20)), /truncated/);
  assert.throws(() => parseFdt(dtb.subarray(0, dtb.length - 1)), /truncated/);
  const badToken = dtb.slice();
  const structOffset = new DataView(dtb.buffer).getUint32(8);
  new DataView(badToken.buffer).setUint32(structOffset, 0x77);
  assert.throws(() => parseFdt(badToken), /bad token 0x77/);
});

Deno.test(hostTest(
  "fdt: dtc decompiles our output to the expected source",
  missing("dtc"),
  async () => {
    const file = await Deno.makeTempFile({ suffix: ".dtb" });
    try {
      await Deno.writeFile(file, serializeFdt(sampleTree(), { bootCpuId: 2 }));
      const { code, stdout, stderr } = await new Deno.Command("dtc", {
        args: ["-I", "dtb", "-O", "dts", file],
      }).output();
      const dts = new TextDecoder().decode(stdout);
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      assert.match(dts, /\/dts-v1\/;/);
      assert.match(dts, /reg = <0x00 0x80000000 0x00 0x8000000>;/);
      assert.match(dts, /compatible = "acme,intc2\\0acme,intc";/);
      assert.match(dts, /interrupt-parent = <0x07>;/);
      assert.match(dts, /blob = \[01 02 03\];/);
      assert.match(dts, /\tranges;/);
      assert.match(dts, /soc \{[\s\S]*intc@1000 \{[\s\S]*uart@2000 \{/);
    } finally {
      await Deno.remove(file);
    }
  },
));
