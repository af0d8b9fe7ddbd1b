/**
 * The disk that guests/drivers/blk_slot0.c expects, and what its write must
 * leave there: shared by the tests that run it (virtio_slot_test on QEMU and
 * rvisor, cli_test's --disk-write checks), so that each can check the disk
 * afterwards instead of trusting the guest's own verdict.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The guest (built by scripts/build-guests.ts). */
export const BLK_SLOT0 = new URL("../guests/drivers/build/blk_slot0.elf", import.meta.url).pathname;

/** What the guest prints when every check passed. */
export const BLK_SLOT0_PASS = "blk_slot0: read sector 1, wrote and read back sector 2: pass";

/** Exit code of the guest's "slot 0 holds no block device" check. */
export const BLK_SLOT0_NO_DISK = 3;

const SECTOR = 512;
const SECTORS = 64;
/** Must match WRITE_TAG in blk_slot0.c. */
const WRITE_TAG = "rvisor virtio slot 0 write";

/** A 32 KiB image: byte i of sector s is (s * 31 + i) & 0xff (blk_slot0 checks sector 1). */
export function blkSlot0Image(): Uint8Array {
  const bytes = new Uint8Array(SECTORS * SECTOR);
  for (let s = 0; s < SECTORS; s++) {
    for (let i = 0; i < SECTOR; i++) bytes[s * SECTOR + i] = (s * 31 + i) & 0xff;
  }
  return bytes;
}

/** Sector 2 as blk_slot0 writes it: the tag, then 0xa5 ^ i. */
function writtenSector(): Uint8Array {
  const sector = new Uint8Array(SECTOR);
  for (let i = 0; i < SECTOR; i++) sector[i] = (0xa5 ^ i) & 0xff;
  sector.set(new TextEncoder().encode(WRITE_TAG));
  return sector;
}

/** Asserts that `after` is `before` with exactly sector 2 replaced by the guest's write. */
export function assertGuestWrote(after: Uint8Array, before: Uint8Array): void {
  assert.equal(after.length, before.length);
  assert.deepEqual(after.subarray(2 * SECTOR, 3 * SECTOR), writtenSector(), "sector 2");
  assert.deepEqual(after.subarray(0, 2 * SECTOR), before.subarray(0, 2 * SECTOR));
  assert.deepEqual(after.subarray(3 * SECTOR), before.subarray(3 * SECTOR));
}
