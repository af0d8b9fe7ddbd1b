/**
 * virtio-mmio slots as QEMU 7.2 fills them, and a driver written for QEMU
 * (guests/drivers/blk_slot0.c: slot 0 only, the low 32 feature bits only, a
 * sector read, a sector written and read back) run on QEMU 7.2, on rvisor bare
 * and under the hypervisor, through the API. Every run is judged by the disk
 * it leaves behind as well as by the guest's exit code.
 */

import assert from "node:assert/strict";
import { buildGuests } from "../scripts/build-guests.ts";
import { exists, hostTest, missing, QEMU } from "../scripts/host-tools.ts";
import { assignDiskSlots, type DiskSlot, MachineConfigError } from "../devices/board.ts";
import { MemoryBlockBackend } from "../devices/block.ts";
import { VirtMachine } from "../devices/virt.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import { createMachine } from "../hypervisor/machine.ts";
import type { Bus } from "../core/bus.ts";
import {
  assertGuestWrote,
  BLK_SLOT0,
  BLK_SLOT0_NO_DISK,
  BLK_SLOT0_PASS,
  blkSlot0Image,
} from "./blk_slot0.ts";

let built: Promise<number> | undefined;
function ensureGuest(): Promise<number> {
  built ??= exists(BLK_SLOT0) ? Promise.resolve(0) : buildGuests();
  return built;
}

/** DeviceID of each of the eight slots, as a guest reads it (0: empty). */
function deviceIds(bus: Bus): number[] {
  return Array.from({ length: 8 }, (_, s) => bus.readDevice(0x1000_1000 + s * 0x1000 + 8, 4));
}

const BLK = 2;

Deno.test("virtio slots: QEMU 7.2's placement of virtio-blk-devices, in command-line order", () => {
  // Measured with `info qtree` on QEMU 7.2: a device without bus= takes the highest free
  // slot; bus=virtio-mmio-bus.N takes slot N; a taken bus is "full".
  assert.deepEqual(assignDiskSlots([{}, {}]), [7, 6]);
  assert.deepEqual(assignDiskSlots([{ slot: 7 }, {}]), [7, 6]);
  assert.deepEqual(assignDiskSlots([{}, { slot: 0 }, {}]), [7, 0, 6]);
  assert.deepEqual(assignDiskSlots(Array.from({ length: 8 }, () => ({}))), [
    7,
    6,
    5,
    4,
    3,
    2,
    1,
    0,
  ]);
  const refused: [{ slot?: number; name?: string }[], RegExp][] = [
    [[{ name: "a" }, { slot: 7, name: "b" }], /^b: slot 7 already holds a$/],
    [[{ slot: 8, name: "c" }], /^c: slot 8 is not a virtio-mmio slot \(0\.\.7\)$/],
    [[{ slot: -1 }], /slot -1 is not a virtio-mmio slot/],
    [[{ slot: 1.5 }], /slot 1\.5 is not a virtio-mmio slot/],
    [Array.from({ length: 9 }, () => ({})), /^disk 8: no free virtio-mmio slot/],
  ];
  for (const [disks, message] of refused) {
    assert.throws(() => assignDiskSlots(disks), (e: Error) => {
      assert.ok(e instanceof MachineConfigError);
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("virtio slots: the API plugs disks where asked, bare and in the guest's board", () => {
  const disk = () => new MemoryBlockBackend(new Uint8Array(4096));
  const disks: DiskSlot[] = [{ backend: disk(), slot: 0 }, { backend: disk() }, {
    backend: disk(),
    slot: 3,
  }];
  // The old single `disk` is QEMU's first -drive: it comes first, so it gets slot 7.
  const config = { disk: disk(), disks };
  const want = [BLK, 0, 0, BLK, 0, 0, BLK, BLK];
  assert.deepEqual(deviceIds(new VirtMachine(config).bus), want);
  const hv = createHypervisorMachine(config).hypervisor;
  assert.deepEqual(deviceIds(hv.guest.bus), want);
  assert.deepEqual(hv.guest.devices.disks.map((d) => d.slot), [0, 3, 6, 7]);
  // Under the hypervisor the disks are the guest's only: the host board has none.
  assert.deepEqual(deviceIds(hv.machine.bus), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(
    () => new VirtMachine({ disks: [{ backend: disk(), slot: 2 }, { backend: disk(), slot: 2 }] }),
    /disk 1: slot 2 already holds disk 0/,
  );
});

for (const hypervisor of [false, true]) {
  const mode = hypervisor ? "under the hypervisor" : "bare";
  Deno.test(`blk_slot0 through the API (disks: slot 0) ${mode}: reads, writes, reads back`, async () => {
    await ensureGuest();
    const kernel = { name: "blk_slot0.elf", bytes: Deno.readFileSync(BLK_SLOT0) };
    const image = blkSlot0Image();
    const backend = new MemoryBlockBackend(image.slice());
    let out = "";
    const m = createMachine({
      kernel,
      hypervisor,
      clock: "virtual",
      disks: [{ backend, slot: 0 }],
      console: (b) => out += String.fromCharCode(b),
    });
    const r = await m.run({ maxInstructions: 50_000_000 });
    assert.equal(r.stop, "halt", out);
    assert.equal(m.exitCode, 0, out);
    assert.ok(out.includes(BLK_SLOT0_PASS), out);
    assertGuestWrote(backend.bytes, image);

    // Where QEMU and rvisor put a disk given no slot (slot 7), this driver finds none.
    const elsewhere = new MemoryBlockBackend(image.slice());
    const m7 = createMachine({ kernel, hypervisor, clock: "virtual", disk: elsewhere });
    await m7.run({ maxInstructions: 50_000_000 });
    assert.equal(m7.exitCode, BLK_SLOT0_NO_DISK);
    assert.deepEqual(elsewhere.bytes, image);
  });
}

Deno.test(hostTest(
  "blk_slot0 on QEMU 7.2 (-device virtio-blk-device,bus=virtio-mmio-bus.0)",
  missing(QEMU),
  async () => {
    await ensureGuest();
    const dir = Deno.makeTempDirSync({ prefix: "rvisor-slot0-" });
    try {
      const image = blkSlot0Image();
      const path = `${dir}/disk.img`;
      Deno.writeFileSync(path, image);
      const out = await new Deno.Command(QEMU, {
        args: [
          ...["-M", "virt", "-m", "128M", "-nographic", "-bios", "none"],
          ...["-kernel", BLK_SLOT0],
          // QEMU 7.2's virt defaults to legacy (version 1) transports; a modern driver needs this.
          ...["-global", "virtio-mmio.force-legacy=false"],
          ...["-drive", `file=${path},if=none,format=raw,id=x0`],
          ...["-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0"],
        ],
        stdin: "null",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, stdout + new TextDecoder().decode(out.stderr));
      assert.ok(stdout.includes(BLK_SLOT0_PASS), stdout);
      assertGuestWrote(Deno.readFileSync(path), image);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
));
