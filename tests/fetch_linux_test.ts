/**
 * scripts/fetch-linux.ts's cache lock: test files that run in parallel
 * (tests/linux_test.ts, tests/web_test.ts) may both fetch into an empty
 * cache; the second must wait for the first and take what it completed
 * instead of writing the same files at once. No network: the mirror given is
 * unreachable, so a fetch that did not wait would fail.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fetchLinux, RECIPE } from "../scripts/fetch-linux.ts";

Deno.test("fetch-linux: a fetch waits for the cache lock, then finds the cache the holder completed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rvisor-fetch-lock-" });
  try {
    // The first fetch, holding the lock and still working.
    const holder = await Deno.open(`${dir}/.lock`, { create: true, write: true });
    await holder.lock(true);
    let settled = false;
    const second = fetchLinux({ cache: dir, mirror: "http://127.0.0.1:1/debian" })
      .finally(() => settled = true);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(settled, false, "the second fetch did not wait for the lock");
    // The holder completes the cache and lets go.
    await Deno.writeTextFile(`${dir}/Image`, "kernel");
    await Deno.writeTextFile(`${dir}/initrd.cpio`, "initrd");
    await Deno.writeTextFile(
      `${dir}/manifest.json`,
      JSON.stringify({
        recipe: RECIPE,
        kernel: "Image",
        initrd: "initrd.cpio",
        release: "6.12-test",
        packages: {},
        debs: {},
      }),
    );
    holder.close();
    const images = await second;
    assert.equal(images.kernel, `${dir}/Image`);
    assert.equal(images.release, "6.12-test");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
