/**
 * Run reports (hypervisor/report.ts, devices/host/report.ts): `--report
 * FILE.json|FILE.html` from the CLI and `Machine.startReport()`/`report()`
 * from the API hold the run's own figures (exit counts equal to `--stats`',
 * series that add up to the totals, symbols of the guest's ELF), bare runs say
 * why they have no exits, and the HTML page carries uPlot and the data inline
 * with nothing to fetch, and its charts and tables show the run's data in
 * headless Chromium (tests/cdp.ts; screenshots in tests/out/). Bad report
 * paths fail before the guest runs.
 *
 * @module
 */

import assert from "node:assert/strict";
import uplotScript from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotStyle from "uplot/dist/uPlot.min.css" with { type: "text" };
import { createMachine, type ReportData, type ReportSeries, RunSampler } from "../mod.ts";
import { reportHtml, writeReportFile } from "../devices/host/report.ts";
import { buildGuests } from "../scripts/build-guests.ts";
import { CHROMIUM, exists, HANG_GUARD_MS, hostTest, missing } from "../scripts/host-tools.ts";
import { launchBrowser, type Page, TEST_OUT } from "./cdp.ts";
import { runBoot } from "./boot_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const CPU_USER = `${ROOT}guests/bench/build/cpu_user.elf`;
const TINYOS = `${ROOT}guests/tinyos/tinyos.elf`;
const SMP = `${ROOT}guests/smp/build/smp.elf`;
const HANG_GUARD = ["--timeout", String(HANG_GUARD_MS / 1000)];

async function ensureGuests(): Promise<void> {
  if (!exists(CPU_USER) || !exists(TINYOS) || !exists(SMP)) await buildGuests();
}

/** A scratch directory, removed after `fn`. */
async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "rvisor-report-" });
  try {
    await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** The series are columns of one length that add up to the summary's totals. */
function assertSeriesAddUp(r: ReportData): void {
  const n = r.summary.samples;
  assert.ok(n >= 2, `${n} samples`);
  for (const key of ["wallMs", "guestInstructions", "mtime", "mips"] as const) {
    assert.equal(r.series[key].length, n, key);
  }
  assert.equal(r.series.guestInstructions[n - 1], r.summary.guestInstructions);
  assert.equal(r.series.wallMs[0], 0);
  assert.ok(r.series.mips.some((x) => x > 0), `MIPS ${r.series.mips}`);
  for (const [kind, counts] of Object.entries(r.series.exits)) {
    assert.equal(counts.length, n, kind);
    assert.equal(sum(counts), r.summary.exitsByKind[kind], kind);
  }
  assert.deepEqual(Object.keys(r.series.exits).sort(), Object.keys(r.summary.exitsByKind).sort());
}

/** The --stats exit table of `stderr`: kind -> count. */
function statsExits(stderr: string): Record<string, number> {
  const at = stderr.indexOf("  hypervisor exits");
  assert.ok(at >= 0, stderr);
  const rows = stderr.slice(at).trimEnd().split("\n").slice(1);
  return Object.fromEntries(rows.map((row) => {
    const m = /^ +(\d+) {2}([a-z.-]+)$/.exec(row);
    assert.ok(m, `exit table row: ${JSON.stringify(row)}`);
    return [m[2], Number(m[1])];
  }));
}

Deno.test("report: --report FILE.json holds the run's exits (as --stats), series and symbols", async () => {
  await ensureGuests();
  await withTemp(async (dir) => {
    const json = `${dir}/run.json`;
    const r = await runBoot([
      ...["--kernel", CPU_USER, "--clock", "virtual", "--stats", "--report", json],
      ...HANG_GUARD,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const data: ReportData = JSON.parse(Deno.readTextFileSync(json));
    assert.equal(data.version, 1);
    assert.equal(data.mode, "hypervisor");
    // The same exits, kind by kind, as the --stats table printed at exit, and its very lines.
    assert.deepEqual(data.summary.exitsByKind, statsExits(r.stderr));
    assert.equal(data.summary.exits, sum(Object.values(data.summary.exitsByKind)));
    const printed = r.stderr.slice(r.stderr.indexOf("rvisor stats:")).trimEnd().split("\n");
    assert.deepEqual(data.stats, printed);
    assert.match(printed[1], new RegExp(` ${data.summary.guestInstructions}$`));
    assertSeriesAddUp(data);
    // cpu_user.elf's exits come from its own code: named by its ELF symbols.
    assert.ok(data.topPcs.length > 0);
    for (const pc of data.topPcs.slice(0, 5)) {
      assert.match(pc.pc, /^0x[0-9a-f]+$/);
      assert.match(pc.symbol ?? "", /^[A-Za-z_][\w.]*(\+0x[0-9a-f]+)?$/, JSON.stringify(pc));
      assert.equal(pc.count, sum(pc.causes.map((c) => c.count)));
    }
    assert.equal(data.config["command line"].includes("--report"), true);
    assert.equal(data.config["kernel file"], CPU_USER);
    assert.equal(data.config.clock, "virtual");
    assert.ok(
      data.shadow !== null && data.shadow.fills === data.summary.exitsByKind["shadow-fill"],
    );
    assert.ok(data.privilege !== null && data.privilege.timedExits > 0);
    const p = data.privilege;
    assert.equal(
      p.exitsByGuestMode.M + p.exitsByGuestMode.S + p.exitsByGuestMode.U,
      data.summary.exits,
    );
    assert.ok(Math.abs(p.hypervisorMs + p.guestMs - data.summary.wallMs) < 1e-6);
    assert.deepEqual(data.notes.filter((n) => n.startsWith("bare")), []);
  });
});

Deno.test("report: with 3 vCPUs (smp.elf) the report and --stats count every vCPU's exits, and each vCPU's add up to them", async () => {
  await ensureGuests();
  await withTemp(async (dir) => {
    const json = `${dir}/run.json`;
    const r = await runBoot([
      ...["--kernel", SMP, "--smp", "3", "--clock", "virtual", "--stats", "--report", json],
      ...HANG_GUARD,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^smp: 3 harts, /m);
    const data: ReportData = JSON.parse(Deno.readTextFileSync(json));
    const total = data.summary.exits!;
    assert.deepEqual(data.summary.exitsByKind, statsExits(r.stderr));
    assert.equal(Number(/^ {2}hypervisor exits +(\d+)$/m.exec(r.stderr)?.[1]), total);
    // Every host trap, on any hart, is one exit of the vCPU on that hart.
    assert.equal(data.summary.traps, total);
    const harts = [...r.stderr.matchAll(/^ {2}hart \d +(\d+) instructions/gm)];
    assert.equal(harts.length, 3);
    assert.equal(sum(harts.map((m) => Number(m[1]))), data.summary.hostInstructions);
    const vcpus = data.vcpus!;
    assert.deepEqual(vcpus.map((v) => v.vcpu), [0, 1, 2]);
    for (const v of vcpus) {
      assert.ok(v.exits > 0, `vCPU ${v.vcpu} has no exits`);
      assert.equal(v.exits, sum(Object.values(v.exitsByKind)));
    }
    assert.equal(sum(vcpus.map((v) => v.exits)), total);
    assert.equal(sum(vcpus.map((v) => v.guestInstructions)), data.summary.guestInstructions);
    assert.equal(sum(vcpus.map((v) => v.shadowFills)), data.shadow!.fills);
    for (const kind of Object.keys(data.summary.exitsByKind)) {
      assert.equal(sum(vcpus.map((v) => v.exitsByKind[kind] ?? 0)), data.summary.exitsByKind[kind]);
    }
    // --stats has each vCPU's line with the report's figures.
    const lines = [...r.stderr.matchAll(/^ {2}vCPU (\d) exits +(\d+)( \((.*)\))?$/gm)];
    assert.deepEqual(
      lines.map((m) => [Number(m[1]), Number(m[2])]),
      vcpus.map((v) => [v.vcpu, v.exits]),
    );
    for (const [i, m] of lines.entries()) {
      const kinds = Object.entries(vcpus[i].exitsByKind).map(([k, n]) => `${k} ${n}`).join(", ");
      assert.equal(m[4], kinds);
    }
    assert.deepEqual(
      data.stats,
      r.stderr.slice(r.stderr.indexOf("rvisor stats:")).trimEnd().split("\n"),
    );
  });
});

Deno.test("report: Machine.startReport()/report() on tinyos under the hypervisor", async () => {
  const m = createMachine({ clock: "virtual" });
  assert.throws(() => m.report(), /call startReport\(\) before running/);
  assert.throws(() => m.startReport({ intervalMs: 1 }), RangeError);
  assert.throws(() => m.startReport({ every: 5 } as never), TypeError);
  const rec = m.startReport({ intervalMs: 20 });
  await m.run({ until: "$ " });
  m.send("echo hi\n");
  await m.run({ until: "$ " });
  const r = m.report();
  rec.remove();
  assert.deepEqual(r.summary.exitsByKind, Object.fromEntries(m.host.exitCounts));
  assert.equal(r.summary.guestInstructions, m.guestInstructions);
  assertSeriesAddUp(r);
  // tinyos's kalloc_init touches every free page: its first store to each is a shadow fill.
  const kalloc = r.topPcs.find((p) => p.symbol?.startsWith("kalloc_init+"));
  assert.ok(kalloc && kalloc.causes[0].cause === "shadow-fill", JSON.stringify(r.topPcs));
  const names = (rows: { name: string }[] | null) => rows?.map((x) => x.name) ?? [];
  assert.ok(names(r.csrs).includes("satp"), JSON.stringify(r.csrs));
  assert.ok(names(r.devices).includes("uart0"), JSON.stringify(r.devices));
  const uart = r.devices!.find((d) => d.name === "uart0")!;
  assert.ok(uart.writes >= "echo hi".length, JSON.stringify(uart));
  assert.ok(r.shadow!.peakInUse > 0 && r.shadow!.capacity > r.shadow!.peakInUse);
  assert.equal(r.series.shadowPages.length, r.summary.samples);
  // After remove() nothing is recorded: a run adds no sample.
  await m.run({ maxInstructions: 10_000 });
  assert.equal(m.report().summary.samples, r.summary.samples);
});

for (const hypervisor of [true, false]) {
  Deno.test(
    `report: across snapshot loads (back, then forward) the counts go on from where they were: no interval goes backwards (${
      hypervisor ? "hypervisor" : "bare"
    })`,
    async () => {
      const m = createMachine({ clock: "virtual", hypervisor });
      m.startReport({ intervalMs: 10 });
      const ran: number[] = [];
      const run = async (until?: string) => {
        const r = await m.run({ until, maxInstructions: until ? 100_000_000 : 2_000_000 });
        assert.equal(r.stop, until ? "until" : "limit");
        ran.push(r.guestInstructions);
      };
      await run("$ ");
      const atPrompt = m.saveSnapshot();
      m.send("echo one\n");
      await run("$ ");
      const later = m.saveSnapshot();
      m.loadSnapshot(atPrompt); // the machine's counters go back
      m.send("echo two\n");
      await run("$ ");
      m.loadSnapshot(later); // and jump forward
      await run();
      const r = m.report();
      assert.equal(r.summary.guestInstructions, sum(ran));
      assertSeriesAddUp(r);
      const g = r.series.guestInstructions;
      for (let i = 1; i < g.length; i++) assert.ok(g[i] >= g[i - 1], `sample ${i}: ${g}`);
      assert.ok(r.series.mips.every((x) => x >= 0), `MIPS ${r.series.mips}`);
      // No interval ran faster than the whole recording by far (a jump forward counted as running).
      const mean = r.summary.guestInstructions / r.summary.wallMs / 1000;
      assert.ok(Math.max(...r.series.mips) < 20 * mean, `MIPS ${r.series.mips}, mean ${mean}`);
      for (const [kind, counts] of Object.entries(r.series.exits)) {
        assert.ok(counts.every((x) => x >= 0), `${kind}: ${counts}`);
      }
      if (hypervisor) {
        assert.equal(r.vcpus![0].guestInstructions, sum(ran));
        assert.equal(r.vcpus![0].exits, r.summary.exits);
        assert.ok(r.shadow!.fills >= 0 && r.shadow!.reclaims >= 0, JSON.stringify(r.shadow));
      }
    },
  );
}

Deno.test("report: a shadow pool that runs dry shows its reclaims", async () => {
  await ensureGuests();
  const m = createMachine({
    kernel: { name: "tinyos.elf", bytes: Deno.readFileSync(TINYOS) },
    clock: "virtual",
    shadowPages: 8,
  });
  m.startReport();
  await m.run({ until: "$ " });
  const r = m.report();
  assert.ok(r.shadow!.reclaims > 0, JSON.stringify(r.shadow));
  assert.equal(r.series.reclaims[r.series.reclaims.length - 1], r.shadow!.reclaims);
  assert.ok(r.shadow!.peakInUse <= 8);
});

Deno.test("report: a bare run has no exits and says so; its pcs are the guest's own traps", async () => {
  const m = createMachine({ clock: "virtual", hypervisor: false });
  m.startReport();
  await m.run({ until: "$ " });
  const r = m.report();
  assert.equal(r.mode, "bare");
  assert.equal(r.summary.exits, null);
  assert.deepEqual(r.series.exits, {});
  assert.equal(r.csrs, null);
  assert.equal(r.devices, null);
  assert.equal(r.shadow, null);
  assert.equal(r.privilege, null);
  assert.match(r.notes.join("\n"), /^bare run: .*nothing exits to a hypervisor/m);
  assert.ok(r.series.mips.some((x) => x > 0));
  // tinyos's shell makes system calls from U-mode: ecalls at a pc of its user code.
  assert.ok(r.topPcs.some((p) => p.causes.some((c) => c.cause === "ecall from U-mode")));
  assert.equal(sum(r.topPcs.map((p) => p.count)) <= r.summary.traps, true);
  const html = reportHtml(r);
  assert.match(html, /"mode":"bare"/);
});

/** The JSON inlined in a report page. */
function inlinedData(html: string): ReportData {
  const m = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html);
  assert.ok(m, "the page inlines its data");
  return JSON.parse(m[1]);
}

Deno.test("report: the HTML page inlines uPlot and the data, and loads nothing", async () => {
  const m = createMachine({ clock: "virtual" });
  m.startReport();
  await m.run({ until: "$ " });
  const data = m.report();
  // A symbol that looks like markup stays data (the page fills its tables with text nodes).
  data.topPcs[0].symbol = "</script><img src=x onerror=alert(1)>";
  const html = reportHtml(data);
  assert.deepEqual(inlinedData(html), data);
  assert.ok(html.includes(uplotScript), "uPlot's script, verbatim");
  assert.ok(html.includes(uplotStyle), "uPlot's style sheet, verbatim");
  assert.ok(!html.includes("<img"), "markup in the data is escaped");
  // Nothing is fetched: no element with a source or link, no CSS import or url(); the only
  // address is uPlot's licence banner, a comment.
  assert.doesNotMatch(html, /<(script|img|link|iframe)\b[^>]*\b(src|href)=/i);
  assert.doesNotMatch(html, /@import|url\(/i);
  const urls = html.match(/https?:\/\/[^\s"')]+/g) ?? [];
  assert.deepEqual(urls, ["https://github.com/leeoniya/uPlot"]);
  assert.ok(html.includes("/*! https://github.com/leeoniya/uPlot (v1.6.32) */"));
  await withTemp((dir) => {
    writeReportFile(`${dir}/r.html`, data);
    writeReportFile(`${dir}/r.json`, data);
    assert.equal(Deno.readTextFileSync(`${dir}/r.html`), html);
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(`${dir}/r.json`)), data);
    return Promise.resolve();
  });
});

Deno.test("report: --report with a bad name or an unwritable path: one line, exit 2, no run", async () => {
  await withTemp(async (dir) => {
    Deno.mkdirSync(`${dir}/folder.html`);
    const cases: [string, RegExp][] = [
      [
        `${dir}/run.txt`,
        /^rvisor: --report .*run\.txt: unknown report extension '\.txt': name the report FILE\.html or FILE\.json$/,
      ],
      [
        `${dir}/run`,
        /^rvisor: --report .*run: no extension: name the report FILE\.html or FILE\.json$/,
      ],
      [
        `${dir}/missing/run.html`,
        /^rvisor: --report .*missing\/run\.html: cannot write the report: no such directory$/,
      ],
      [`${dir}/folder.html`, /^rvisor: --report .*folder\.html: not a regular file$/],
    ];
    for (const [path, message] of cases) {
      const r = await runBoot(["--clock", "virtual", "--report", path, ...HANG_GUARD]);
      assert.equal(r.code, 2, `${path}: ${r.stderr}`);
      assert.equal(r.stdout, "", "the guest never ran");
      assert.match(r.stderr.trimEnd(), message);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["folder.html"]);
  });
});

Deno.test("report: top pcs stay exact past thousands of distinct pcs", () => {
  const m = createMachine({ clock: "virtual" });
  m.startReport();
  const exit = (pc: number) => {
    m.events.emit("trap", {
      cause: 2,
      interrupt: false,
      pc,
      tval: 0,
      from: 0,
      to: 3,
      handled: false,
      hartId: 0,
    });
    m.events.emit("exit", { kind: "csr-read", cause: 2, interrupt: false, pc, tval: 0, vpriv: 1 });
  };
  const base = -0x7fe00000; // 0xffffffff80200000, sign-extended as the guest sees it
  for (let i = 0; i < 5000; i++) exit(base + 2 * i);
  for (let k = 0; k < 40; k++) for (let j = 0; j < k + 2; j++) exit(base + 200 * k);
  const top = m.report().topPcs;
  assert.equal(top.length, 30);
  top.forEach((p, i) => {
    const k = 39 - i;
    assert.equal(p.pc, `0x${(0xffffffff80200000n + BigInt(200 * k)).toString(16)}`);
    assert.deepEqual(p.causes, [{ cause: "csr-read", count: k + 3 }]);
  });
});

/** Every URL `page` requests from now on, from CDP's Network domain. */
async function recordRequests(page: Page): Promise<string[]> {
  const urls: string[] = [];
  page.on("Network.requestWillBeSent", (p) => urls.push((p.request as { url: string }).url));
  await page.send("Network.enable");
  return urls;
}

/** Opens report page `path`, checks it loaded only itself and threw nothing; returns the page. */
async function openReport(browser: { newPage(): Promise<Page> }, path: string): Promise<Page> {
  const page = await browser.newPage();
  const requests = await recordRequests(page);
  await page.goto(`file://${path}`);
  await page.waitFor(
    "window.rvisorCharts !== undefined && document.getElementById('stats').textContent !== ''",
  );
  assert.deepEqual(requests, [`file://${path}`], "the page fetches nothing");
  assert.deepEqual(page.log.filter((l) => l.startsWith("exception")), []);
  return page;
}

Deno.test(hostTest(
  "report: the HTML report in headless Chromium charts the run's samples and names its symbols",
  missing(CHROMIUM),
  async () => {
    await ensureGuests();
    await withTemp(async (dir) => {
      const html = `${dir}/run.html`;
      const r = await runBoot([
        ...["--kernel", CPU_USER, "--clock", "virtual", "--report", html],
        ...HANG_GUARD,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const data = inlinedData(Deno.readTextFileSync(html));
      await using browser = await launchBrowser({ width: 1200, height: 2400 });
      const page = await openReport(browser, html);
      // Every chart has one point per sample, and the MIPS chart the report's MIPS.
      const lengths = await page.evaluate<Record<string, number[]>>(
        "Object.fromEntries(Object.entries(rvisorCharts).map(([k, u]) => [k, u.data.map((d) => d.length)]))",
      );
      assert.deepEqual(Object.keys(lengths), ["mips", "exits", "shadow", "hypervisor"]);
      const n = data.summary.samples;
      for (const [name, columns] of Object.entries(lengths)) {
        assert.ok(columns.every((l) => l === n), `${name}: ${columns} points, ${n} samples`);
      }
      assert.deepEqual(await page.evaluate("rvisorCharts.mips.data[1]"), data.series.mips);
      assert.deepEqual(await page.evaluate("rvisorCharts.shadow.data[1]"), data.series.shadowPages);
      // One stacked series per exit kind (and the x column).
      assert.equal(
        await page.evaluate("rvisorCharts.exits.data.length"),
        Object.keys(data.series.exits).length + 1,
      );
      // The top-pc table lists the report's pcs with their symbols, in order.
      const rows = await page.evaluate<string[][]>(
        "[...document.querySelectorAll('#top-pcs tr')].slice(1).map((tr) => [...tr.cells].map((c) => c.textContent))",
      );
      assert.deepEqual(
        rows.map(([pc, symbol]) => [pc, symbol]),
        data.topPcs.map((p) => [p.pc, p.symbol ?? "?"]),
      );
      assert.ok(rows.some(([, symbol]) => /^[a-z_]\w*/.test(symbol)), JSON.stringify(rows));
      const csrNames = await page.evaluate<string[]>(
        "[...document.querySelectorAll('#csrs tr')].slice(1).map((tr) => tr.cells[0].textContent)",
      );
      assert.deepEqual(csrNames, data.csrs!.map((c) => c.name));
      const vcpuRows = await page.evaluate<string[][]>(
        "[...document.querySelectorAll('#vcpus tr')].slice(1).map((tr) => [...tr.cells].map((c) => c.textContent))",
      );
      assert.deepEqual(vcpuRows.map((r) => r[0]), data.vcpus!.map((v) => String(v.vcpu)));
      assert.match(vcpuRows[0][4], /^[a-z-]+ [\d,]+/);
      assert.equal(
        await page.evaluate("document.getElementById('stats').textContent"),
        data.stats.join("\n"),
      );
      await page.screenshot(`${TEST_OUT}report.png`);
      // Against virtual time: the same charts, x in millions of guest instructions.
      await page.evaluate(
        "(() => { const s = document.getElementById('x-axis'); s.value = 'guest'; s.dispatchEvent(new Event('change')); })()",
      );
      assert.deepEqual(
        await page.evaluate("Object.values(rvisorCharts).map((u) => u.data[0])"),
        Object.keys(lengths).map(() => data.series.guestInstructions.map((n) => n / 1e6)),
      );
      assert.deepEqual(page.log.filter((l) => l.startsWith("exception")), []);
    });
  },
));

Deno.test(hostTest(
  "report: a bare run's HTML report says there are no exits instead of empty charts",
  missing(CHROMIUM),
  async () => {
    const m = createMachine({ clock: "virtual", hypervisor: false });
    m.startReport({ intervalMs: 20 });
    await m.run({ until: "$ " });
    await withTemp(async (dir) => {
      writeReportFile(`${dir}/bare.html`, m.report());
      await using browser = await launchBrowser({ width: 1200, height: 1600 });
      const page = await openReport(browser, `${dir}/bare.html`);
      assert.deepEqual(await page.evaluate("Object.keys(rvisorCharts)"), ["mips"]);
      const text = await page.evaluate<string>("document.body.innerText");
      assert.match(text, /Bare run: the guest runs directly on the hart, no exits\./);
      assert.match(text, /Bare run: nothing exits to a hypervisor\./);
      assert.match(text, /ecall from U-mode/);
      await page.screenshot(`${TEST_OUT}report-bare.png`);
    });
  },
));

Deno.test("report: README's Run reports example runs", async () => {
  const readme = Deno.readTextFileSync(`${ROOT}README.md`);
  const start = readme.indexOf("\n## Run reports\n");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const blocks = [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  assert.equal(blocks.length, 1);
  // In the checkout (under the gitignored tests/out/), so that deno.json's imports apply.
  Deno.mkdirSync(TEST_OUT, { recursive: true });
  const file = `${TEST_OUT}readme-report.ts`;
  Deno.writeTextFileSync(file, blocks[0].replaceAll('from "./', 'from "../../'));
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", file],
      cwd: TEST_OUT,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(HANG_GUARD_MS),
    }).output();
    const dec = new TextDecoder();
    assert.equal(out.code, 0, dec.decode(out.stderr));
    assert.match(dec.decode(out.stdout), /^\d+ kalloc_init\+0x[0-9a-f]+ shadow-fill\n$/);
    assert.ok(!exists(`${TEST_OUT}run.html`), "the example removes its page");
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("report: past 2,048 samples every other one goes, and the series still add up", async () => {
  const m = createMachine({ clock: "virtual" });
  const sampler = new RunSampler(m, { intervalMs: 10 });
  sampler.resume();
  try {
    for (let i = 0; i < 3000; i++) {
      await m.vm.run({ maxInstructions: 500 });
      sampler.sample();
    }
  } finally {
    sampler.remove();
  }
  const r = sampler.report();
  assert.ok(r.summary.samples <= 2048 && r.summary.samples > 1024, `${r.summary.samples}`);
  assert.ok(
    r.summary.intervalMs >= 20,
    `interval ${r.summary.intervalMs} ms: thinned, sampled less often`,
  );
  assertSeriesAddUp(r);
  assert.deepEqual(r.summary.exitsByKind, Object.fromEntries(m.host.exitCounts));
  for (let i = 1; i < r.summary.samples; i++) {
    assert.ok(r.series.wallMs[i] > r.series.wallMs[i - 1], `sample ${i} after ${i - 1}`);
  }
});

Deno.test("report: samplesSince hands out the recording in pieces that join up to the report's series, and from 0 again once thinned", async () => {
  const m = createMachine({ clock: "virtual" });
  const sampler = new RunSampler(m, { intervalMs: 10 });
  // What a live viewer has: the columns joined from the pieces, and where it stands.
  let have: ReportSeries | null = null;
  let next = 0, epoch = -1, restarts = 0, pieces = 0;
  const look = () => {
    const live = sampler.samplesSince(next, epoch);
    if (live.epoch === epoch) assert.equal(live.start, next, "a piece starts where the last ended");
    if (live.start === 0) {
      if (have !== null) restarts++;
      have = live.series;
    } else {
      const n = have!.wallMs.length;
      for (const [key, column] of Object.entries(live.series)) {
        if (Array.isArray(column)) (have![key as keyof ReportSeries] as number[]).push(...column);
      }
      for (const [kind, column] of Object.entries(live.series.exits)) {
        (have!.exits[kind] ??= new Array(n).fill(0)).push(...column);
      }
    }
    pieces++;
    next = live.samples, epoch = live.epoch;
  };
  sampler.resume();
  try {
    for (let i = 0; i < 3000; i++) {
      await m.vm.run({ maxInstructions: 500 });
      sampler.sample();
      if (i % 97 === 0) look();
    }
  } finally {
    sampler.remove();
  }
  look();
  const r = sampler.report();
  assert.ok(restarts >= 1, "the recording was thinned while watched");
  assert.ok(pieces > 20);
  const s = have! as ReportSeries;
  assert.equal(s.wallMs.length, r.summary.samples);
  // hypervisorShare is estimated with the mean exit time at each look; the rest is exact.
  const { hypervisorShare, ...exact } = r.series;
  assert.deepEqual({ ...s, hypervisorShare: undefined }, { ...exact, hypervisorShare: undefined });
  assert.equal(s.hypervisorShare.length, hypervisorShare.length);
  assert.ok(Object.keys(r.series.exits).length > 0, "exits recorded");
  // Nothing new: an empty piece at the end of the recording.
  const none = sampler.samplesSince(next, epoch);
  assert.equal(none.start, none.samples);
  assert.equal(none.series.wallMs.length, 0);
});
