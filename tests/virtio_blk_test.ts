import assert from "node:assert/strict";
import { Bus, type DeviceAccessSize, type MmioDevice, RAM_BASE } from "../core/bus.ts";
import { EventBus } from "../core/events.ts";
import { type BlockBackend, MemoryBlockBackend } from "../devices/block.ts";
import { VirtioBlockDevice } from "../devices/virtio-blk.ts";
import { EmptyVirtioSlot } from "../devices/virtio-mmio.ts";
import {
  AVAIL_F_NO_INTERRUPT,
  BLK_F as VirtioBlkFeature,
  BLK_S as VirtioBlkStatus,
  BLK_SEG_MAX,
  BLK_T as T,
  type Buffer,
  BUFFER_ADDR,
  DESC_ADDR,
  ID_BLOCK,
  INTERRUPT as VirtioInterrupt,
  MAGIC,
  QUEUE_NUM_MAX,
  R,
  S as VirtioStatus,
  SLOT0,
  TEST_RAM_SIZE,
  USED_ADDR,
  VENDOR_QEMU,
  VERSION_1,
  VirtioTestDriver,
} from "./virtio_driver.ts";

const SECTORS = 64;
const HEADER = BUFFER_ADDR;
const STATUS = BUFFER_ADDR + 0x100;
const DATA = BUFFER_ADDR + 0x1000;
const RAM_END = RAM_BASE + TEST_RAM_SIZE;

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + (i >> 9) * 7 + seed) & 0xff;
  return bytes;
}

/** Counts flushes, to see FLUSH reach the backend. */
class CountingBackend extends MemoryBlockBackend {
  flushes = 0;
  override flush(): void {
    this.flushes++;
  }
}

function setup(options: { readOnly?: boolean; serial?: string; queueSize?: number } = {}) {
  const disk = new CountingBackend(pattern(SECTORS * 512, 1), { readOnly: options.readOnly });
  const original = disk.bytes.slice();
  const driver = new VirtioTestDriver(new VirtioBlockDevice(disk, { serial: options.serial }));
  driver.init(options.queueSize ?? 8);
  return { disk, original, driver };
}

function writeHeader(driver: VirtioTestDriver, type: number, sector: number, at = HEADER): void {
  const h = driver.mem(at, 16);
  h.setUint32(0, type, true);
  h.setUint32(4, 0, true);
  h.setUint32(8, sector % 0x1_0000_0000, true);
  h.setUint32(12, Math.floor(sector / 0x1_0000_0000), true);
}

/** header + one data buffer + status: the layout Linux uses. */
function simpleChain(
  driver: VirtioTestDriver,
  type: number,
  sector: number,
  data: { addr: number; len: number } | null,
): Buffer[] {
  writeHeader(driver, type, sector);
  driver.poke(STATUS, new Uint8Array([0xee]));
  const chain: Buffer[] = [{ addr: HEADER, len: 16 }];
  if (data) chain.push({ ...data, write: type !== T.OUT });
  chain.push({ addr: STATUS, len: 1, write: true });
  return chain;
}

function status(driver: VirtioTestDriver, at = STATUS): number {
  return driver.peek(at, 1)[0];
}

Deno.test("virtio-blk identifies itself and its disk like QEMU", () => {
  const { driver } = setup();
  assert.equal(driver.reg(R.MAGIC_VALUE), MAGIC);
  assert.equal(driver.reg(R.VERSION), 2);
  assert.equal(driver.reg(R.DEVICE_ID), ID_BLOCK);
  assert.equal(driver.reg(R.VENDOR_ID), VENDOR_QEMU);
  assert.equal(driver.reg(R.QUEUE_NUM_MAX), QUEUE_NUM_MAX);
  const features = driver.deviceFeatures();
  for (const bit of [VirtioBlkFeature.SEG_MAX, VirtioBlkFeature.BLK_SIZE, VirtioBlkFeature.FLUSH]) {
    assert.ok(features & (1n << BigInt(bit)), `feature ${bit}`);
  }
  assert.ok(features & VERSION_1);
  assert.equal(features & (1n << BigInt(VirtioBlkFeature.RO)), 0n);
  // Config space, also through narrow accesses.
  const config = (offset: number, size: DeviceAccessSize) =>
    driver.bus.readDevice(SLOT0 + R.CONFIG + offset, size);
  assert.equal(config(0, 4), SECTORS);
  assert.equal(config(4, 4), 0);
  assert.equal(config(0, 1), SECTORS);
  assert.equal(config(12, 4), BLK_SEG_MAX);
  assert.equal(config(20, 2), 512);
  assert.equal(config(34, 2), 1);
  assert.equal(config(0x200, 4), 0xffff_ffff);
  // Registers ignore narrow accesses.
  assert.equal(driver.bus.readDevice(SLOT0 + R.MAGIC_VALUE, 1), 0);
});

Deno.test("virtio-blk offers VIRTIO_BLK_F_RO for a read-only backend", () => {
  const { driver } = setup({ readOnly: true });
  assert.ok(driver.deviceFeatures() & (1n << BigInt(VirtioBlkFeature.RO)));
});

Deno.test("feature negotiation as QEMU 7.2: no refusal, bits not offered are dropped", () => {
  const { driver } = setup();
  const S = VirtioStatus;
  const offered = driver.deviceFeatures();
  const tryFeatures = (features: bigint) => {
    driver.setReg(R.STATUS, 0);
    driver.setReg(R.STATUS, S.ACKNOWLEDGE | S.DRIVER);
    driver.setDriverFeatures(features);
    driver.setReg(R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
    return (driver.reg(R.STATUS) & S.FEATURES_OK) !== 0;
  };
  // A legacy-style driver that never accepts VIRTIO_F_VERSION_1 keeps FEATURES_OK.
  assert.equal(tryFeatures(offered & 0xffff_ffffn), true, "low 32 bits only");
  assert.equal(driver.transport.driverFeatures, offered & 0xffff_ffffn);
  // INDIRECT_DESC (28) is not offered: QEMU's virtio_set_features drops it, without refusing.
  assert.equal(tryFeatures(VERSION_1 | (1n << 28n)), true);
  assert.equal(driver.transport.driverFeatures, VERSION_1);
  assert.equal(tryFeatures(offered), true);
  // Frozen once accepted: a later write does not change the features in effect.
  driver.setDriverFeatures(VERSION_1);
  driver.setReg(R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
  assert.equal(driver.transport.driverFeatures, offered);
});

Deno.test("feature selectors are one bit, as QEMU's: any non-zero value selects the high word", () => {
  const { driver } = setup();
  driver.setReg(R.DEVICE_FEATURES_SEL, 7);
  assert.equal(driver.reg(R.DEVICE_FEATURES), 1, "high word: VERSION_1");
  driver.setReg(R.STATUS, 0);
  driver.setReg(R.DRIVER_FEATURES_SEL, 0);
  driver.setReg(R.DRIVER_FEATURES, 0);
  driver.setReg(R.DRIVER_FEATURES_SEL, 2);
  driver.setReg(R.DRIVER_FEATURES, 1);
  driver.setReg(R.STATUS, VirtioStatus.FEATURES_OK);
  assert.equal(driver.transport.driverFeatures, VERSION_1);
});

Deno.test("IN reads sectors into guest memory and interrupts", () => {
  const { disk, driver } = setup();
  const [head] = driver.submit(simpleChain(driver, T.IN, 3, { addr: DATA, len: 1024 }));
  assert.deepEqual(driver.takeUsed(), [{ id: head, len: 1025 }]);
  assert.equal(status(driver), VirtioBlkStatus.OK);
  assert.deepEqual(driver.peek(DATA, 1024), disk.bytes.subarray(3 * 512, 5 * 512));
  assert.equal(driver.reg(R.INTERRUPT_STATUS), VirtioInterrupt.USED_BUFFER);
  assert.equal(driver.irq.level, true);
  driver.setReg(R.INTERRUPT_ACK, VirtioInterrupt.USED_BUFFER);
  assert.equal(driver.reg(R.INTERRUPT_STATUS), 0);
  assert.equal(driver.irq.level, false);
});

Deno.test("OUT writes guest memory to the disk; FLUSH reaches the backend", () => {
  const { disk, original, driver } = setup();
  const data = pattern(1536, 99);
  driver.poke(DATA, data);
  driver.submit(simpleChain(driver, T.OUT, 10, { addr: DATA, len: 1536 }));
  assert.deepEqual(driver.takeUsed(), [{ id: 0, len: 1 }]);
  assert.equal(status(driver), VirtioBlkStatus.OK);
  assert.deepEqual(disk.bytes.subarray(10 * 512, 13 * 512), data);
  assert.deepEqual(disk.bytes.subarray(0, 10 * 512), original.subarray(0, 10 * 512));
  assert.deepEqual(disk.bytes.subarray(13 * 512), original.subarray(13 * 512));

  driver.submit(simpleChain(driver, T.FLUSH, 0, null));
  assert.equal(status(driver), VirtioBlkStatus.OK);
  assert.equal(disk.flushes, 1);
});

Deno.test("GET_ID returns the serial, zero-padded to 20 bytes", () => {
  const { driver } = setup({ serial: "rvisor-disk0" });
  driver.poke(DATA, new Uint8Array(20).fill(0xaa));
  driver.submit(simpleChain(driver, T.GET_ID, 0, { addr: DATA, len: 20 }));
  assert.equal(status(driver), VirtioBlkStatus.OK);
  const id = driver.peek(DATA, 20);
  assert.equal(new TextDecoder().decode(id.subarray(0, 12)), "rvisor-disk0");
  assert.deepEqual(id.subarray(12), new Uint8Array(8));
});

Deno.test("out-of-range, partial-sector, read-only and unknown requests fail with the right status", () => {
  const { disk, original, driver } = setup();
  const cases: [number, number, number, number][] = [
    [T.IN, SECTORS - 1, 1024, VirtioBlkStatus.IOERR], // runs past the end
    [T.IN, SECTORS, 512, VirtioBlkStatus.IOERR],
    [T.OUT, 2 ** 40, 512, VirtioBlkStatus.IOERR],
    [T.OUT, 2 ** 60, 512, VirtioBlkStatus.IOERR],
    [T.IN, 0, 100, VirtioBlkStatus.IOERR], // not whole sectors
    [T.IN, SECTORS - 1, 512, VirtioBlkStatus.OK], // the last sector is fine
    [T.DISCARD, 0, 16, VirtioBlkStatus.UNSUPP],
    [99, 0, 512, VirtioBlkStatus.UNSUPP],
  ];
  for (const [type, sector, len, expected] of cases) {
    driver.submit(simpleChain(driver, type, sector, { addr: DATA, len }));
    assert.equal(status(driver), expected, `type ${type} sector ${sector} len ${len}`);
  }
  assert.deepEqual(disk.bytes, original);
  assert.equal(driver.reg(R.STATUS) & VirtioStatus.DEVICE_NEEDS_RESET, 0);

  const ro = setup({ readOnly: true });
  ro.driver.submit(simpleChain(ro.driver, T.OUT, 0, { addr: DATA, len: 512 }));
  assert.equal(status(ro.driver), VirtioBlkStatus.IOERR);
  assert.deepEqual(ro.disk.bytes, ro.original);
});

Deno.test("multi-descriptor requests: split header, many data buffers, status sharing a buffer", () => {
  const { disk, driver } = setup();
  // Header in two halves, data over uneven pieces (100 + 412 + 512 + 1 + 511), and
  // the status byte as the last byte of the last data buffer (ANY_LAYOUT).
  writeHeader(driver, T.IN, 7);
  const pieces = [100, 412, 512, 1];
  const chain: Buffer[] = [{ addr: HEADER, len: 8 }, { addr: HEADER + 8, len: 8 }];
  let at = DATA;
  for (const len of pieces) {
    chain.push({ addr: at, len, write: true });
    at += len + 64; // gaps, so a stream bug would show
  }
  chain.push({ addr: at, len: 512, write: true }); // 511 data bytes + status
  driver.submit(chain);
  assert.deepEqual(driver.takeUsed(), [{ id: 0, len: 1537 }]);
  assert.equal(driver.peek(at + 511, 1)[0], VirtioBlkStatus.OK);
  const expected = disk.bytes.subarray(7 * 512, 10 * 512);
  let offset = 0;
  at = DATA;
  for (const len of pieces) {
    assert.deepEqual(driver.peek(at, len), expected.subarray(offset, offset + len));
    offset += len;
    at += len + 64;
  }
  assert.deepEqual(driver.peek(at, 511), expected.subarray(offset));

  // A write whose data starts in the header's buffer.
  const data = pattern(1024, 5);
  const combined = new Uint8Array(16 + 300);
  combined.set(driver.peek(HEADER, 16));
  new DataView(combined.buffer).setUint32(0, T.OUT, true);
  combined.set(data.subarray(0, 300), 16);
  driver.poke(HEADER, combined);
  driver.poke(DATA, data.subarray(300));
  const statusAt = BUFFER_ADDR + 0x800; // STATUS would overlap the 316-byte buffer
  driver.poke(statusAt, new Uint8Array([0xee]));
  driver.submit([
    { addr: HEADER, len: 316 },
    { addr: DATA, len: 724 },
    { addr: statusAt, len: 1, write: true },
  ]);
  assert.equal(status(driver, statusAt), VirtioBlkStatus.OK);
  assert.deepEqual(disk.bytes.subarray(7 * 512, 9 * 512), data);
});

Deno.test("a 127 KiB write and read in 254 segments", () => {
  const disk = new MemoryBlockBackend(new Uint8Array(512 * 1024));
  const driver = new VirtioTestDriver(new VirtioBlockDevice(disk));
  driver.init(256);
  const size = BLK_SEG_MAX * 512;
  const data = pattern(size, 42);
  const run = (type: number) => {
    writeHeader(driver, type, 9);
    const segments: Buffer[] = [];
    for (let i = 0; i < BLK_SEG_MAX; i++) {
      segments.push({ addr: DATA + 512 * i, len: 512, write: type === T.IN });
    }
    driver.poke(STATUS, new Uint8Array([0xee]));
    driver.submit([{ addr: HEADER, len: 16 }, ...segments, { addr: STATUS, len: 1, write: true }]);
    assert.equal(status(driver), VirtioBlkStatus.OK);
  };
  driver.poke(DATA, data);
  run(T.OUT);
  assert.deepEqual(disk.bytes.subarray(9 * 512, 9 * 512 + size), data);
  driver.poke(DATA, new Uint8Array(size));
  run(T.IN);
  assert.deepEqual(driver.peek(DATA, size), data);
});

Deno.test("ring indices wrap around 65536 while requests keep completing", () => {
  const { disk, driver } = setup({ queueSize: 16 });
  writeHeader(driver, T.FLUSH, 0);
  const statuses = Array.from({ length: 8 }, (_, i) => STATUS + i);
  const total = 65536 + 40;
  let submitted = 0;
  while (submitted < total - 8) {
    const chains = statuses.map((s): Buffer[] => [
      { addr: HEADER, len: 16 },
      { addr: s, len: 1, write: true },
    ]);
    driver.submit(...chains);
    submitted += 8;
    assert.equal(driver.takeUsed().length, 8);
  }
  assert.equal(disk.flushes, submitted);
  // Past the wrap: real reads must still land, with heads and lengths right.
  assert.ok(driver.availIdx < 100, "avail index wrapped");
  const chains: Buffer[][] = [];
  for (let i = 0; i < 2; i++) {
    writeHeader(driver, T.IN, 20 + i, HEADER + 32 * i);
    chains.push([
      { addr: HEADER + 32 * i, len: 16 },
      { addr: DATA + 512 * i, len: 512, write: true },
      { addr: STATUS + i, len: 1, write: true },
    ]);
  }
  const heads = driver.submit(...chains);
  assert.deepEqual(driver.takeUsed(), heads.map((id) => ({ id, len: 513 })));
  assert.equal(driver.usedIdx(), (submitted + 2) & 0xffff);
  assert.deepEqual(driver.peek(DATA, 1024), disk.bytes.subarray(20 * 512, 22 * 512));
});

Deno.test("AVAIL_F_NO_INTERRUPT suppresses the used-buffer interrupt", () => {
  const { driver } = setup();
  driver.setAvailFlags(AVAIL_F_NO_INTERRUPT);
  driver.submit(simpleChain(driver, T.FLUSH, 0, null));
  assert.equal(driver.takeUsed().length, 1);
  assert.equal(driver.irq.level, false);
  assert.equal(driver.reg(R.INTERRUPT_STATUS), 0);
});

/** A device that records any access: DMA must never reach it. */
class Tripwire implements MmioDevice {
  readonly name = "tripwire";
  accesses = 0;
  read(): number {
    this.accesses++;
    return 0;
  }
  write(): void {
    this.accesses++;
  }
}

function setupWithTripwire() {
  const s = setup();
  const tripwire = new Tripwire();
  s.driver.bus.map(0x4000_0000, 0x10_0000, tripwire);
  return { ...s, tripwire };
}

Deno.test("data buffers outside RAM fail with IOERR and touch nothing", () => {
  const { disk, original, driver, tripwire } = setupWithTripwire();
  const ramBefore = driver.peek(RAM_BASE, TEST_RAM_SIZE);
  const bogus = [
    { addr: 0x4000_0000, len: 512 }, // a device
    { addr: RAM_END - 256, len: 512 }, // straddles the end of RAM
    { addr: 0xffff_ffff_0000, len: 512 }, // far away
    { addr: RAM_BASE - 512, len: 1024 }, // straddles the start of RAM
  ];
  for (const type of [T.IN, T.OUT]) {
    for (const data of bogus) {
      driver.submit(simpleChain(driver, type, 0, data));
      assert.equal(status(driver), VirtioBlkStatus.IOERR, `${type} ${data.addr.toString(16)}`);
      assert.equal(driver.takeUsed().length, 1);
    }
  }
  // A request whose first data buffer is fine and second is not moves nothing at all.
  driver.poke(DATA, pattern(512, 77));
  for (const type of [T.OUT, T.IN]) {
    writeHeader(driver, type, 0);
    driver.submit([
      { addr: HEADER, len: 16 },
      { addr: DATA, len: 512, write: type === T.IN },
      { addr: 0x4000_0000, len: 512, write: type === T.IN },
      { addr: STATUS, len: 1, write: true },
    ]);
    assert.equal(status(driver), VirtioBlkStatus.IOERR);
  }
  assert.deepEqual(driver.peek(DATA, 512), pattern(512, 77));
  driver.poke(DATA, ramBefore.subarray(DATA - RAM_BASE, DATA - RAM_BASE + 512));
  assert.equal(tripwire.accesses, 0);
  assert.deepEqual(disk.bytes, original);
  // Only the rings, descriptors, header and status changed: the last 256 RAM bytes did not.
  assert.deepEqual(driver.peek(RAM_END - 256, 256), ramBefore.subarray(TEST_RAM_SIZE - 256));
  assert.deepEqual(
    driver.peek(DATA, 0x1000),
    ramBefore.subarray(DATA - RAM_BASE, DATA - RAM_BASE + 0x1000),
  );
  assert.equal(driver.reg(R.STATUS) & VirtioStatus.DEVICE_NEEDS_RESET, 0);
});

function assertNeedsReset(driver: VirtioTestDriver, generationBefore: number): void {
  assert.ok(driver.reg(R.STATUS) & VirtioStatus.DEVICE_NEEDS_RESET, "DEVICE_NEEDS_RESET");
  assert.ok(driver.reg(R.INTERRUPT_STATUS) & VirtioInterrupt.CONFIG_CHANGE, "config interrupt");
  assert.equal(driver.irq.level, true);
  assert.notEqual(driver.reg(R.CONFIG_GENERATION), generationBefore);
  assert.equal(driver.usedIdx(), 0, "nothing completed");
}

Deno.test("a status byte outside RAM marks the device DEVICE_NEEDS_RESET", () => {
  const { disk, original, driver, tripwire } = setupWithTripwire();
  const generation = driver.reg(R.CONFIG_GENERATION);
  const data = pattern(512, 3);
  driver.poke(DATA, data);
  writeHeader(driver, T.OUT, 0);
  driver.submit([
    { addr: HEADER, len: 16 },
    { addr: DATA, len: 512 },
    { addr: 0x4000_0000, len: 1, write: true },
  ]);
  assertNeedsReset(driver, generation);
  assert.equal(tripwire.accesses, 0);
  assert.deepEqual(disk.bytes, original, "the request did not run");
  assert.match(driver.transport.lastError ?? "", /status byte/);

  // Further notifications are ignored until the driver resets the device.
  driver.submit(simpleChain(driver, T.OUT, 0, { addr: DATA, len: 512 }));
  assert.equal(driver.usedIdx(), 0);
  driver.init();
  assert.equal(driver.irq.level, false);
  assert.equal(driver.reg(R.STATUS) & VirtioStatus.DEVICE_NEEDS_RESET, 0);
  driver.submit(simpleChain(driver, T.OUT, 0, { addr: DATA, len: 512 }));
  assert.equal(status(driver), VirtioBlkStatus.OK);
  assert.deepEqual(disk.bytes.subarray(0, 512), data);
});

Deno.test("rings or descriptor tables outside RAM, bad indices and loops break the device safely", () => {
  const scenarios: [string, (d: VirtioTestDriver) => void][] = [
    ["descriptor table", (d) => {
      d.setReg(R.QUEUE_DESC_LOW, 0x4000_0000);
      d.submit(simpleChain(d, T.FLUSH, 0, null));
    }],
    ["available ring", (d) => {
      d.setReg(R.QUEUE_DRIVER_LOW, RAM_END - 8);
      d.notify();
    }],
    ["used ring", (d) => {
      d.setReg(R.QUEUE_DEVICE_HIGH, 0xffff);
      d.submit(simpleChain(d, T.FLUSH, 0, null));
    }],
    ["descriptor loop", (d) => {
      d.writeDescriptor(0, HEADER, 16, 1, 1);
      d.writeDescriptor(1, HEADER, 16, 1, 0);
      d.makeAvailable(0);
      d.notify();
    }],
    ["descriptor index", (d) => {
      d.writeDescriptor(0, HEADER, 16, 1, 8);
      d.makeAvailable(0);
      d.notify();
    }],
    ["head index", (d) => {
      d.makeAvailable(200);
      d.notify();
    }],
    ["available index jump", (d) => {
      d.mem(RAM_BASE + 0x4002, 2).setUint16(0, 9, true);
      d.notify();
    }],
    ["readable after writable", (d) => {
      writeHeader(d, T.FLUSH, 0);
      d.submit([{ addr: STATUS, len: 1, write: true }, { addr: HEADER, len: 16 }]);
    }],
    ["missing header", (d) => d.submit([{ addr: STATUS, len: 1, write: true }])],
    ["missing status", (d) => {
      writeHeader(d, T.FLUSH, 0);
      d.submit([{ addr: HEADER, len: 16 }]);
    }],
    ["indirect descriptor", (d) => {
      d.writeDescriptor(0, DESC_ADDR + 0x100, 32, 4, 0);
      d.makeAvailable(0);
      d.notify();
    }],
  ];
  for (const [name, provoke] of scenarios) {
    const { disk, driver, tripwire } = setupWithTripwire();
    const generation = driver.reg(R.CONFIG_GENERATION);
    const used = driver.peek(USED_ADDR, 64);
    provoke(driver);
    try {
      assertNeedsReset(driver, generation);
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`);
    }
    assert.deepEqual(driver.peek(USED_ADDR, 64), used, name);
    assert.equal(tripwire.accesses, 0, name);
    assert.equal(disk.flushes, 0, name);
  }
});

Deno.test("writing 0 to Status resets queues and interrupts", () => {
  const { driver } = setup();
  driver.submit(simpleChain(driver, T.FLUSH, 0, null));
  assert.equal(driver.irq.level, true);
  driver.setReg(R.STATUS, 0);
  assert.equal(driver.reg(R.STATUS), 0);
  assert.equal(driver.reg(R.INTERRUPT_STATUS), 0);
  assert.equal(driver.irq.level, false);
  assert.equal(driver.reg(R.QUEUE_READY), 0);
  assert.equal(driver.reg(R.QUEUE_DESC_LOW), 0);
  // Indices restart from 0 after the driver sets the queue up again.
  driver.init();
  driver.submit(simpleChain(driver, T.FLUSH, 0, null));
  assert.deepEqual(driver.takeUsed(), [{ id: 0, len: 1 }]);
  assert.equal(driver.usedIdx(), 1);
});

Deno.test("queue registers read back; queues the device lacks read as absent", () => {
  const { driver } = setup();
  driver.setReg(R.QUEUE_SEL, 0);
  assert.equal(driver.reg(R.QUEUE_READY), 1);
  assert.equal(driver.reg(R.QUEUE_DRIVER_LOW), (RAM_BASE + 0x4000) >>> 0);
  assert.equal(driver.reg(R.QUEUE_DEVICE_HIGH), 0);
  driver.setReg(R.QUEUE_SEL, 1);
  assert.equal(driver.reg(R.QUEUE_NUM_MAX), 0);
  assert.equal(driver.reg(R.QUEUE_READY), 0);
  driver.setReg(R.QUEUE_READY, 1);
  driver.setReg(R.QUEUE_NOTIFY, 1);
  assert.equal(driver.reg(R.QUEUE_READY), 0);
  assert.equal(driver.reg(R.STATUS) & VirtioStatus.DEVICE_NEEDS_RESET, 0);
});

Deno.test("empty slots read magic, version 2, device 0 and QEMU's vendor, and ignore writes", () => {
  const bus = new Bus(4096, new EventBus());
  for (let i = 0; i < 8; i++) {
    bus.map(SLOT0 + 0x1000 * i, 0x1000, new EmptyVirtioSlot(`virtio_mmio@${i}`));
  }
  for (let i = 0; i < 8; i++) {
    const base = SLOT0 + 0x1000 * i;
    bus.writeDevice(base + R.STATUS, 4, VirtioStatus.ACKNOWLEDGE);
    bus.writeDevice(base + R.DEVICE_FEATURES_SEL, 4, 0);
    assert.equal(bus.readDevice(base + R.MAGIC_VALUE, 4), MAGIC);
    assert.equal(bus.readDevice(base + R.VERSION, 4), 2);
    assert.equal(bus.readDevice(base + R.DEVICE_ID, 4), 0);
    assert.equal(bus.readDevice(base + R.VENDOR_ID, 4), VENDOR_QEMU);
    assert.equal(bus.readDevice(base + R.DEVICE_FEATURES, 4), 0);
    assert.equal(bus.readDevice(base + R.QUEUE_NUM_MAX, 4), 0);
    assert.equal(bus.readDevice(base + R.STATUS, 4), 0);
  }
  assert.equal(new EmptyVirtioSlot("legacy", 1).read(R.VERSION, 4), 1);
});

Deno.test("DMA into RAM tells the hart which range changed", () => {
  const { driver } = setup();
  const written: [number, number][] = [];
  driver.bus.onRamWritten = (paddr, length) => written.push([paddr, length]);
  driver.submit(simpleChain(driver, T.IN, 0, { addr: DATA, len: 512 }));
  assert.ok(written.some(([a, l]) => a <= DATA && DATA + 512 <= a + l), "data buffer");
  assert.ok(written.some(([a, l]) => a <= USED_ADDR + 2 && USED_ADDR + 4 <= a + l), "used idx");
});

/** Keep the `BlockBackend` import honest: the device accepts any implementation. */
Deno.test("the device works over any BlockBackend implementation", () => {
  const reads: number[] = [];
  const backend: BlockBackend = {
    size: 4096,
    readOnly: false,
    read(offset, into) {
      reads.push(offset);
      into.fill(offset / 512);
    },
    write() {
      throw new Error("host disk failed");
    },
    flush() {},
  };
  const driver = new VirtioTestDriver(new VirtioBlockDevice(backend));
  driver.init();
  driver.submit(simpleChain(driver, T.IN, 5, { addr: DATA, len: 512 }));
  assert.deepEqual(reads, [2560]);
  assert.deepEqual(driver.peek(DATA, 512), new Uint8Array(512).fill(5));
  driver.submit(simpleChain(driver, T.OUT, 5, { addr: DATA, len: 512 }));
  assert.equal(status(driver), VirtioBlkStatus.IOERR, "host errors become IOERR");
  assert.equal(driver.reg(R.STATUS) & VirtioStatus.DEVICE_NEEDS_RESET, 0);
});
