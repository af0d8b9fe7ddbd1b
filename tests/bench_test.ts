/**
 * Smoke test of the benchmark suite: `scripts/bench.ts --quick` (cpu.elf, and
 * cpu_user.elf bare and under the hypervisor, for 1 M instructions; no QEMU, no
 * boot) prints every expected row and writes a JSON report. No timing is
 * asserted: speed is the benchmark's business, and a timed test would fail on a
 * loaded host.
 *
 * @module
 */

import assert from "node:assert/strict";
import { formatTable } from "../scripts/bench.ts";

const SCRIPT = new URL("../scripts/bench.ts", import.meta.url).pathname;

Deno.test("bench --quick prints the table and writes --json", async () => {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SCRIPT, "--quick", "--json", json],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));

    const rows = stdout.trimEnd().split("\n");
    assert.match(rows[0], /^benchmark\s+figure\s+detail$/);
    for (
      const row of [
        /^interpreter cpu\.elf\s+[\d.]+ MIPS\s+1,000,000 instructions .*stopped: limit$/,
        /^translator cpu\.elf: off\s+[\d.]+ MIPS\s+1,000,000 instructions .*best of 1 interleaved/,
        /^translator cpu\.elf: on\s+[\d.]+ MIPS\s+1,000,000 instructions .*% translated, [\d,]+ blocks/,
        /^translator cpu\.elf: on \/ off\s+[\d.]+x\s+MIPS ratio, same run$/,
        /^qemu cpu\.elf\s+skipped\s+--quick$/,
        /^event bus: no subscriber\s+[\d.]+ MIPS/,
        /^event bus: on halt\s+[\d.]+ MIPS\s+[\d.]+x of no subscriber; 0 events$/,
        /^event bus: on csr\s+[\d.]+ MIPS/,
        /^event bus: on trap\s+[\d.]+ MIPS\s+[\d.]+x of no subscriber; 0 events$/,
        /^registers \(a\) BigInt in Array\s+[\d.]+ Mops\/s/,
        /^registers \(b\) BigInt64Array\s+[\d.]+ Mops\/s/,
        /^registers \(c\) int32 hi\/lo pairs\s+[\d.]+ Mops\/s\s+1\.00x of \(c\)$/,
        /^registers \(d\) Float64Array \(inexact\)\s+[\d.]+ Mops\/s.*wrong results$/,
        /^boot to U-Boot\s+skipped\s+--quick$/,
        /^hypervisor cpu_user\.elf: bare\s+[\d.]+ MIPS\s+1,000,000 instructions .*stopped: limit$/,
        /^hypervisor cpu_user\.elf: hypervisor\s+[\d.]+ MIPS\s+1,000,\d{3} instructions \(\d+ emulated\) .*stopped: limit$/,
        /^hypervisor cpu_user\.elf: hypervisor \/ bare\s+[\d.]+x\s+wall time, .*target <= 1\.1x/,
        /^hypervisor cpu_user\.elf: exits\s+[\d,]+\/s\s+[\d,]+ exits, handler .*shadow-fill \d+/,
        /^hypervisor cpu_user\.elf, translator: bare\s+[\d.]+ MIPS\s+1,000,000 instructions /,
        /^hypervisor cpu_user\.elf, translator: hypervisor\s+[\d.]+ MIPS\s+1,000,\d{3} instructions /,
        /^hypervisor cpu_user\.elf, translator: hypervisor \/ bare\s+[\d.]+x\s+wall time, /,
        /^hypervisor cpu_user\.elf, translator: exits\s+[\d,]+\/s\s+[\d,]+ exits, handler /,
        /^hypervisor boot to U-Boot\s+skipped\s+--quick$/,
        /^firmware boot to U-Boot\s+skipped\s+--quick$/,
        /^report sampler cpu_user\.elf: on \/ off\s+[\d.]+x\s+process CPU time under the hypervisor \(wall time [\d.]+x\), best of 1 interleaved rounds .*; 1,000,\d{3} instructions, [\d,]+ exits, \d+ samples; target < 1\.02x/,
        /^report sampler cpu_user\.elf: watched \/ off\s+[\d.]+x\s+process CPU time with a --web browser reading the samples every 500 ms and the tables every 2000 ms \(\d+ reads taking [\d.]+ ms of [\d,]+ ms; wall time [\d.]+x\), interleaved with the rows above; target < 1\.02x/,
        /^linux to shell\s+skipped\s+--quick$/,
        /^two guests: tinyos \+ linux to shell\s+skipped\s+--quick$/,
      ]
    ) {
      assert.ok(rows.some((r) => row.test(r)), `no row matches ${row}\n${stdout}`);
    }
    assert.equal(rows.length, 29, stdout);

    const report = JSON.parse(await Deno.readTextFile(json));
    assert.equal(report.quick, true);
    assert.equal(report.interpreter.instructions, 1_000_000);
    assert.equal(report.interpreter.stop, "limit");
    assert.deepEqual(report.qemu, { skipped: "--quick" });
    // The translator ran the same instructions, most of them in blocks (a block is compiled
    // after 5,000 interpreted visits, so 1 M instructions include the warm-up).
    assert.equal(report.translator.on.instructions, 1_000_000);
    assert.equal(report.translator.off.instructions, 1_000_000);
    assert.ok(
      report.translator.on.translatedShare > 0.5,
      `${report.translator.on.translatedShare}`,
    );
    // cpu_user.elf: the same budget bare and under the hypervisor (which also emulates a few).
    const hv = report.hypervisorCpu;
    assert.equal(hv.bare.instructions, 1_000_000);
    assert.equal(hv.bare.emulated, 0);
    assert.equal(hv.hypervisor.instructions, 1_000_000 + hv.hypervisor.emulated);
    assert.equal(hv.hypervisor.stop, "limit");
    assert.ok(hv.hypervisor.exits > 0);
    assert.equal(
      hv.hypervisor.exits,
      hv.hypervisor.byKind.reduce((n: number, e: { count: number }) => n + e.count, 0),
    );
    // The same with the translator: the same counts, the hypervisor's guest partly in blocks.
    const hvt = report.hypervisorCpuTranslated;
    assert.equal(hvt.bare.instructions, 1_000_000);
    assert.equal(hvt.hypervisor.instructions, hv.hypervisor.instructions);
    assert.ok(hvt.hypervisor.translator.share > 0.5, `${hvt.hypervisor.translator.share}`);
    assert.equal(hv.hypervisor.translator, undefined);
    assert.deepEqual(report.hypervisorBoot, { skipped: "--quick" });
    assert.deepEqual(report.firmware, { skipped: "--quick" });
    // The sampler recorded the same run as the one without it.
    assert.equal(report.sampler.on.instructions, report.sampler.off.instructions);
    assert.equal(report.sampler.on.exits, report.sampler.off.exits);
    assert.ok(report.sampler.on.samples >= 2);
    // Watched live as --web does: same run (benchSampler checks the instructions), its reads counted.
    assert.ok(report.sampler.live.cpuRatio > 0 && Number.isInteger(report.sampler.live.polls));
    assert.deepEqual(report.linux, { skipped: "--quick" });
    assert.deepEqual(report.guests, { skipped: "--quick" });

    // The Linux rows, from a figure shaped like a full run's.
    const run = (wallMs: number, exits?: number) => ({
      wallMs,
      instructions: 1.5e9,
      emulated: exits ? 4e5 : 0,
      mips: 1.5e9 / wallMs / 1000,
      stop: "until",
      ...(exits
        ? {
          exits,
          exitsPerSecond: exits / wallMs * 1000,
          byKind: [{ kind: "shadow-fill", count: exits }],
        }
        : {}),
    });
    const table = formatTable({
      ...report,
      linux: {
        release: "6.12.0-test",
        bare: run(40_000),
        opensbi: run(44_000, 1_700_000),
        builtin: run(42_000, 1_600_000),
        bareTranslated: {
          ...run(20_000),
          translator: { compiled: 30_000, compileMs: 5_000, evictions: 12, share: 0.8 },
        },
        opensbiTranslated: run(33_000, 1_700_000),
        builtinTranslated: run(21_000, 1_600_000),
        qemuMs: 4_000,
        rss: { translator: 600 * 2 ** 20, interpreter: 400 * 2 ** 20 },
      },
      guests: { togetherMs: 30_000, sequentialMs: 24_000, instructions: 1.6e9, slices: [9, 310] },
    });
    for (
      const row of [
        /^linux to shell: bare\s+40000 ms\s+1,500,000,000 instructions \(0 emulated\), 37\.5 MIPS$/,
        /^linux to shell: hypervisor \+ OpenSBI\s+44000 ms\s+.*1,700,000 exits \(38,636\/s\): shadow-fill 1,700,000$/,
        /^linux to shell: hypervisor \+ builtin\s+42000 ms\s+.*1,600,000 exits/,
        /^linux to shell: bare, translator\s+20000 ms\s+.* MIPS; 80\.0 % translated, 30,000 blocks in 5000 ms, 12 pages evicted$/,
        /^linux to shell: hypervisor \+ builtin, translator\s+21000 ms\s+.*1,600,000 exits/,
        /^linux to shell: translator on \/ off\s+0\.50x\s+.*hypervisor \+ OpenSBI 0\.75x, \+ builtin 0\.50x; one cold run each \(the hypervisor boots reuse/,
        /^linux to shell: hypervisor \/ bare\s+1\.10x\s+.*builtin \/ OpenSBI 0\.95x, exits 0\.94x; .*6\.12\.0-test$/,
        /^linux to shell: qemu\s+4000 ms\s+.*rvisor bare 10\.00x, hypervisor 11\.00x .*builtin 10\.50x$/,
        /^linux to shell: qemu, translator\s+4000 ms\s+.*bare 5\.00x, hypervisor 8\.25x \(goal <= 3x\), builtin 5\.25x$/,
        /^linux to shell: peak RSS, translator\s+600 MB\s+interpreter 400 MB: 1\.50x \(goal <= 1\.5x\); /,
        /^two guests: tinyos \+ linux to shell\s+30000 ms\s+at once; one after another 24000 ms \(1\.25x\); 1,600,000,000 instructions, slices 9 \/ 310$/,
      ]
    ) {
      assert.ok(table.split("\n").some((r) => row.test(r)), `no row matches ${row}\n${table}`);
    }
    assert.deepEqual(
      report.events.map((e: { subscriber: string }) => e.subscriber),
      ["none", "halt", "csr", "trap"],
    );
    // (a) and (b) compute exactly what (c) does; doubles cannot.
    assert.deepEqual(
      report.registers.map((r: { exact: boolean }) => r.exact),
      [true, true, true, false],
    );
  } finally {
    await Deno.remove(json);
  }
});

Deno.test("bench --linux-rss takes on or off only, with a one-line error", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, "--linux-rss", "maybe"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.equal(
    new TextDecoder().decode(out.stderr),
    "bench: --linux-rss maybe: must be on or off\n",
  );
});
