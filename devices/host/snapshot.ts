/**
 * Snapshot files: a machine's snapshot bytes (`Machine.saveSnapshot`,
 * `VirtMachine.saveSnapshot`) written to and read from the host's file system.
 * The bytes live in plain modules; only the files are here.
 *
 * @module
 */

import { SnapshotError } from "../../core/snapshot.ts";

/** Writes `machine`'s snapshot to `path`; a SnapshotError naming the file if it cannot. */
export function saveSnapshotFile(machine: { saveSnapshot(): Uint8Array }, path: string): void {
  const bytes = machine.saveSnapshot();
  try {
    Deno.writeFileSync(path, bytes);
  } catch (e) {
    throw new SnapshotError(`${path}: cannot write the snapshot: ${(e as Error).message}`);
  }
}

/**
 * Restores the snapshot file at `path` into `machine` (made with the
 * configuration it was saved from); errors are SnapshotErrors that start with
 * the file's name.
 */
export function loadSnapshotFile(
  machine: { loadSnapshot(bytes: Uint8Array, source: string): void },
  path: string,
): void {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new SnapshotError(`${path}: cannot read the snapshot: ${why}`);
  }
  machine.loadSnapshot(bytes, path);
}
