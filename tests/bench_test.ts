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
import { MachineConfigError } from "../devices/virt.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import { buildGuests } from "../scripts/build-guests.ts";
import { formatTable, hypervisorRunOrRefusal } from "../scripts/bench.ts";

const SCRIPT = new URL("../scripts/bench.ts", import.meta.url).pathname;
const CPU_USER_ELF = new URL("../guests/bench/build/cpu_user.elf", import.meta.url).pathname;

Deno.test("bench: --help lists the options; an unknown option is one line and exit 2", async () => {
  const run = async (arg: string) => {
    const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", SCRIPT, arg] })
      .output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  };
  const help = await run("--help");
  assert.equal(help.code, 0, help.stderr);
  for (const option of ["--quick", "--no-linux", "--json FILE", "--linux-rss"]) {
    assert.ok(help.stdout.includes(option), help.stdout);
  }
  const bad = await run("--frob");
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, "");
  assert.match(
    bad.stderr,
    /^bench: Unknown option '--frob' \(deno task bench --help lists the options\)\n$/,
  );
});

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
        /^linux --smp 2 to shell\s+skipped\s+--quick$/,
        /^tiers cpu\.elf: interpreter\s+[\d.]+ MIPS\s+1,000,000 instructions in \d+ ms, best of 1 interleaved with JS and wasm blocks/,
        /^tiers cpu\.elf: JS blocks\s+[\d.]+ MIPS\s+[\d.]+x the interpreter; [\d.]+ % translated$/,
        /^tiers cpu\.elf: wasm blocks\s+[\d.]+ MIPS\s+[\d.]+x the interpreter, [\d.]+x JS blocks; [\d.]+ % translated; target >= 300 MIPS$/,
        /^tiers cpu_user\.elf \(hypervisor\): interpreter\s+[\d.]+ MIPS\s+1,000,\d{3} instructions/,
        /^tiers cpu_user\.elf \(hypervisor\): JS blocks\s+[\d.]+ MIPS/,
        /^tiers cpu_user\.elf \(hypervisor\): wasm blocks\s+[\d.]+ MIPS/,
        /^tiers linux to shell: peak RSS, JS blocks\s+skipped\s+--quick$/,
      ]
    ) {
      assert.ok(rows.some((r) => row.test(r)), `no row matches ${row}\n${stdout}`);
    }
    assert.equal(rows.length, 37, stdout);

    const report = JSON.parse(await Deno.readTextFile(json));
    assert.equal(report.quick, true);
    assert.equal(report.interpreter.instructions, 1_000_000);
    assert.equal(report.interpreter.stop, "limit");
    assert.deepEqual(report.qemu, { skipped: "--quick" });
    // The translator ran the same instructions, most of them in blocks (a block is compiled
    // after 500 interpreted visits, so 1 M instructions include the warm-up).
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
    assert.deepEqual(report.linuxSmp, { skipped: "--quick" });
    // Each tier ran the same instructions (benchTiers checks), the two block tiers mostly in blocks.
    for (const f of [report.tiers.cpu, report.tiers.cpuUser]) {
      assert.equal(f.js.instructions, f.interpreter.instructions);
      assert.equal(f.wasm.instructions, f.interpreter.instructions);
      assert.equal(f.interpreter.translator, undefined);
      assert.ok(f.js.translator.share > 0.3 && f.wasm.translator.share > 0.3, JSON.stringify(f));
    }

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
      tiers: { ...report.tiers, linuxRssJs: 500 * 2 ** 20 },
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
        /^tiers linux to shell: peak RSS, JS blocks\s+500 MB\s+1\.25x the interpreter's 400 MB; wasm blocks \(the default\) 600 MB, 1\.50x; bare \+ OpenSBI$/,
        /^two guests: tinyos \+ linux to shell\s+30000 ms\s+at once; one after another 24000 ms \(1\.25x\); 1,600,000,000 instructions, slices 9 \/ 310$/,
      ]
    ) {
      assert.ok(table.split("\n").some((r) => row.test(r)), `no row matches ${row}\n${table}`);
    }

    // The --smp 2 rows, from figures shaped like a full run's: the hypervisor's refusal as the
    // reason its row is skipped, then (once it takes two vCPUs) its run.
    const smp = {
      release: "6.12.0-test",
      smp: 2,
      bare: {
        ...run(25_000),
        harts: [1e9, 5e8],
        translator: { compiled: 40_000, compileMs: 6_000, evictions: 0, share: 0.9 },
      },
      single: run(20_000),
      ratio: 1.25,
      hypervisor: { skipped: "smp 2: the hypervisor says no" },
      qemuMs: 5_000,
      qemuSingleMs: 4_000,
    };
    const smpTable = (linuxSmp: unknown) =>
      formatTable({ ...report, linuxSmp }).split("\n").filter((r) => r.startsWith("linux --smp"));
    const skipped = smpTable(smp);
    for (
      const [i, row] of [
        /^linux --smp 2 to shell: bare, translator\s+25000 ms\s+1,500,000,000 instructions \(0 emulated; hart 0 1,000,000,000, hart 1 500,000,000\), 60\.0 MIPS; 90\.0 % translated$/,
        /^linux --smp 2 to shell: 2 harts \/ 1\s+1\.25x\s+wall time bare with the translator; 1 hart 20000 ms, 1,500,000,000 instructions, run right before/,
        /^linux --smp 2 to shell: hypervisor \+ OpenSBI, translator\s+skipped\s+smp 2: the hypervisor says no$/,
        /^linux --smp 2 to shell: qemu -smp 2\s+5000 ms\s+best of 3 incl\. start-up .*; rvisor bare 5\.00x; qemu -smp 2 \/ 1 1\.25x$/,
      ].entries()
    ) {
      assert.match(skipped[i], row, skipped.join("\n"));
    }
    assert.equal(skipped.length, 4, skipped.join("\n"));
    const measured = smpTable({
      ...smp,
      hypervisor: run(50_000, 2_000_000),
      qemuSingleMs: undefined,
    });
    for (
      const [i, row] of [
        /^linux --smp 2 to shell: hypervisor \+ OpenSBI, translator\s+50000 ms\s+1,500,000,000 instructions \(400,000 emulated\), 30\.0 MIPS, 2,000,000 exits \(40,000\/s\): shadow-fill 2,000,000$/,
        /^linux --smp 2 to shell: hypervisor \/ bare\s+2\.00x\s+wall time, one run each$/,
        /^linux --smp 2 to shell: qemu -smp 2\s+5000 ms\s+.*; rvisor bare 5\.00x, hypervisor 10\.00x$/,
      ].entries()
    ) {
      assert.match(measured[i + 2], row, measured.join("\n"));
    }
    assert.equal(measured.length, 5, measured.join("\n"));
    const noImages = smpTable({ skipped: "no Linux images (offline)" });
    assert.equal(noImages.length, 1, noImages.join("\n"));
    assert.match(noImages[0], /^linux --smp 2 to shell\s+skipped\s+no Linux images \(offline\)$/);
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

Deno.test("bench --linux-rss takes on, off or js only, with a one-line error", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, "--linux-rss", "maybe"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.equal(
    new TextDecoder().decode(out.stderr),
    "bench: --linux-rss maybe: must be on, off or js\n",
  );
});

Deno.test("bench: a hypervisor row the machine refuses is skipped with the machine's own message, else it runs", async () => {
  await buildGuests();
  const kernel = { name: CPU_USER_ELF, bytes: Deno.readFileSync(CPU_USER_ELF) };
  for (const smp of [1, 2, 9]) {
    // The oracle: what the hypervisor machine itself says of this configuration.
    let refusal: string | undefined;
    try {
      createHypervisorMachine({ kernel, smp });
    } catch (e) {
      assert.ok(e instanceof MachineConfigError, String(e));
      refusal = e.message;
    }
    const r = await hypervisorRunOrRefusal({ images: { kernel }, smp, maxInstructions: 20_000 });
    if (refusal === undefined) {
      assert.ok(!("skipped" in r), `smp ${smp}: ${JSON.stringify(r)}`);
      assert.equal(r.stop, "limit");
      assert.ok(r.instructions >= 20_000 && r.exits > 0, JSON.stringify(r));
    } else {
      assert.deepEqual(r, { skipped: refusal });
    }
  }
  // One hart is always taken; 9 never (the machine has 1 to 8).
  assert.ok(
    !("skipped" in await hypervisorRunOrRefusal({ images: { kernel }, maxInstructions: 1 })),
  );
  const nine = await hypervisorRunOrRefusal({ images: { kernel }, smp: 9, maxInstructions: 1 });
  assert.ok("skipped" in nine && /^smp 9: /.test(nine.skipped), JSON.stringify(nine));
});
