import assert from "node:assert/strict";
import { type BlockBackend, CowOverlay, MemoryBlockBackend } from "../devices/block.ts";
import { openDiskImage } from "../devices/host/disk.ts";
import {
  VirtioBlkRequestType as T,
  VirtioBlkStatus,
  VirtioBlockDevice,
} from "../devices/virtio-blk.ts";
import { BUFFER_ADDR, VirtioTestDriver } from "./virtio_driver.ts";

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 13 + (i >> 8) + seed) & 0xff;
  return bytes;
}

/** A base that fails the test if anyone writes to it. */
class WriteForbidden extends MemoryBlockBackend {
  override write(): void {
    throw new Error("the overlay wrote its base");
  }
}

function readAll(backend: BlockBackend): Uint8Array {
  const out = new Uint8Array(backend.size);
  backend.read(0, out);
  return out;
}

Deno.test("MemoryBlockBackend reads, writes, refuses writes when read-only and checks ranges", () => {
  const disk = new MemoryBlockBackend(new Uint8Array(1024));
  disk.write(510, new Uint8Array([1, 2, 3, 4]));
  const out = new Uint8Array(4);
  disk.read(510, out);
  assert.deepEqual(out, new Uint8Array([1, 2, 3, 4]));
  assert.throws(() => disk.read(1022, new Uint8Array(4)), RangeError);
  assert.throws(() => disk.write(-1, new Uint8Array(1)), RangeError);
  const ro = new MemoryBlockBackend(new Uint8Array(512), { readOnly: true });
  assert.throws(() => ro.write(0, new Uint8Array(1)), /read-only/);
  assert.throws(() => new MemoryBlockBackend(new Uint8Array(100)), /multiple of 512/);
});

Deno.test("CowOverlay keeps writes in memory and never writes its base", () => {
  // 3 sectors past two chunks, so the last chunk is short.
  const size = 2 * 4096 + 3 * 512;
  const original = pattern(size, 7);
  const base = new WriteForbidden(original.slice());
  const overlay = new CowOverlay(base);
  assert.equal(overlay.size, size);
  assert.equal(overlay.readOnly, false);
  const expected = original.slice();
  const writes: [number, number][] = [[100, 10], [4090, 20], [0, 4096], [size - 700, 700]];
  for (const [offset, length] of writes) {
    const data = pattern(length, offset);
    overlay.write(offset, data);
    expected.set(data, offset);
  }
  assert.deepEqual(readAll(overlay), expected);
  assert.deepEqual(base.bytes, original);
  assert.equal(overlay.dirtyChunks, 3);
  // Reads that straddle written and unwritten chunks merge correctly.
  const piece = new Uint8Array(6000);
  overlay.read(2000, piece);
  assert.deepEqual(piece, expected.subarray(2000, 8000));
  assert.throws(() => overlay.write(size - 1, new Uint8Array(2)), RangeError);
});

Deno.test("CowOverlay over a read-only base accepts writes", () => {
  const base = new MemoryBlockBackend(new Uint8Array(4096), { readOnly: true });
  const overlay = new CowOverlay(base);
  overlay.write(512, new Uint8Array(512).fill(9));
  assert.equal(readAll(overlay)[600], 9);
  assert.equal(base.bytes[600], 0);
});

Deno.test("openDiskImage errors name the file and the problem on one line", () => {
  const dir = Deno.makeTempDirSync({ prefix: "rvisor-disk-" });
  try {
    const odd = `${dir}/odd.img`;
    Deno.writeFileSync(odd, new Uint8Array(1000));
    const cases: [string, RegExp][] = [
      [`${dir}/missing.img`, /no such file/],
      [dir, /is a directory/],
      [odd, /size 1000 bytes is not a multiple of 512/],
    ];
    for (const [path, problem] of cases) {
      for (const writable of [false, true]) {
        assert.throws(
          () => openDiskImage(path, writable),
          (error: Error) => {
            assert.ok(error.message.includes(path), error.message);
            assert.match(error.message, problem);
            assert.ok(!error.message.includes("\n"), "one line");
            return true;
          },
        );
      }
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** Writes `data` at `sector`, then reads it back, through the device's registers. */
function writeThenRead(disk: BlockBackend, sector: number, data: Uint8Array): Uint8Array {
  const driver = new VirtioTestDriver(new VirtioBlockDevice(disk));
  driver.init();
  const header = BUFFER_ADDR;
  const status = BUFFER_ADDR + 0x100;
  const buffer = BUFFER_ADDR + 0x1000;
  const run = (type: number) => {
    const h = driver.mem(header, 16);
    h.setUint32(0, type, true);
    h.setUint32(8, sector, true);
    driver.poke(status, new Uint8Array([0xee]));
    driver.submit([
      { addr: header, len: 16 },
      { addr: buffer, len: data.length, write: type === T.IN },
      { addr: status, len: 1, write: true },
    ]);
    assert.equal(driver.peek(status, 1)[0], VirtioBlkStatus.OK);
  };
  driver.poke(buffer, data);
  run(T.OUT);
  driver.poke(buffer, new Uint8Array(data.length));
  run(T.IN);
  const result = driver.peek(buffer, data.length);
  driver.mem(header, 16).setUint32(0, T.FLUSH, true);
  driver.poke(status, new Uint8Array([0xee]));
  driver.submit([{ addr: header, len: 16 }, { addr: status, len: 1, write: true }]);
  assert.equal(driver.peek(status, 1)[0], VirtioBlkStatus.OK);
  return result;
}

Deno.test("a disk image opened read-only stays byte-identical when the guest writes", () => {
  const path = Deno.makeTempFileSync({ prefix: "rvisor-disk-", suffix: ".img" });
  const original = pattern(64 * 512, 3);
  Deno.writeFileSync(path, original);
  const disk = openDiskImage(path, false);
  try {
    assert.equal(disk.size, original.length);
    const data = pattern(2048, 77);
    // The guest sees its own write...
    assert.deepEqual(writeThenRead(disk, 5, data), data);
    disk.flush();
    // ...and the file does not.
    assert.deepEqual(Deno.readFileSync(path), original);
  } finally {
    disk.close?.();
    Deno.removeSync(path);
  }
});

Deno.test("a disk image opened writable receives the guest's writes", () => {
  const path = Deno.makeTempFileSync({ prefix: "rvisor-disk-", suffix: ".img" });
  const original = pattern(16 * 512, 4);
  Deno.writeFileSync(path, original);
  const disk = openDiskImage(path, true);
  try {
    assert.equal(disk.readOnly, false);
    const data = pattern(1024, 88);
    assert.deepEqual(writeThenRead(disk, 3, data), data);
    disk.flush();
    const expected = original.slice();
    expected.set(data, 3 * 512);
    assert.deepEqual(Deno.readFileSync(path), expected);
  } finally {
    disk.close?.();
    Deno.removeSync(path);
  }
});
