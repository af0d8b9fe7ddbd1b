/**
 * Debian's OpenSBI (fw_jump) + U-Boot S-mode boot bare on rvisor to the `=>`
 * prompt; U-Boot's `version` and `md.q` answer as the image says, and the
 * OpenSBI banner describes the same machine as QEMU's (same firmware, same CPU).
 */

import assert from "node:assert/strict";
import { UBOOT_BUDGET, ubootCommand } from "./uboot_console.ts";
import { SLICE, VirtMachine } from "../devices/virt.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import {
  HANG_GUARD_MS,
  hostTest,
  missing,
  OPENSBI_FW_JUMP as FW_JUMP,
  QEMU,
  QEMU_CPU,
  UBOOT_SMODE as UBOOT,
} from "../scripts/host-tools.ts";

/** OpenSBI banner lines that describe the machine rather than timing or build. */
const BANNER_KEYS = [
  "Platform Name",
  "Platform Features",
  "Platform HART Count",
  "Platform IPI Device",
  "Platform Timer Device",
  "Platform Console Device",
  "Platform Reboot Device",
  "Platform Shutdown Device",
  "Runtime SBI Version",
  "Boot HART Base ISA",
  "Boot HART ISA Extensions",
  "Boot HART PMP Count",
  "Boot HART Priv Version",
];

function bannerLines(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const key = line.slice(0, i).trim();
    if (BANNER_KEYS.includes(key)) m.set(key, line.slice(i + 1).trim());
  }
  return m;
}

/** Bare on the emulated hart, or under the hypervisor. */
type Mode = "bare" | "hypervisor";

async function bootToPrompt(
  mode: Mode,
  smp = 1,
): Promise<{ m: VirtMachine; out: () => string }> {
  let text = "";
  const config = {
    bios: { name: FW_JUMP, bytes: Deno.readFileSync(FW_JUMP) },
    kernel: { name: UBOOT, bytes: Deno.readFileSync(UBOOT) },
    clock: "virtual" as const,
    smp,
    console: (b: number) => text += String.fromCharCode(b),
  };
  const m = mode === "bare" ? new VirtMachine(config) : createHypervisorMachine(config);
  const limits = { maxInstructions: UBOOT_BUDGET, timeoutMs: HANG_GUARD_MS };
  const r = await m.run({ until: "Hit any key to stop autoboot", ...limits });
  assert.equal(r.stop, "until", `no autoboot prompt; console:\n${text}`);
  m.input(" ");
  const r2 = await m.run({ until: "=> ", ...limits });
  assert.equal(r2.stop, "until", `no => prompt; console:\n${text}`);
  return { m, out: () => text };
}

Deno.test(hostTest(
  "OpenSBI + U-Boot boot bare to the prompt",
  missing(FW_JUMP, UBOOT),
  async () => {
    const { m, out } = await bootToPrompt("bare");
    const banner = bannerLines(out());
    assert.equal(banner.get("Platform Name"), "riscv-virtio,qemu");
    assert.equal(banner.get("Platform Timer Device"), "aclint-mtimer @ 10000000Hz");
    assert.equal(banner.get("Platform Console Device"), "uart8250");
    assert.equal(banner.get("Platform Reboot Device"), "sifive_test");
    assert.equal(banner.get("Runtime SBI Version"), "1.0");
    assert.equal(banner.get("Boot HART Base ISA"), "rv64imafdc"); // the default hart, as QEMU's
    assert.equal(banner.get("Boot HART ISA Extensions"), "time");
    assert.equal(banner.get("Boot HART PMP Count"), "16");

    const version = await ubootCommand(m, out, "version");
    assert.match(version, /U-Boot 2023\.01/);
    assert.match(version, /riscv64-linux-gnu-gcc/);

    // md.q shows U-Boot's own first 32 bytes, loaded at 0x8020_0000.
    const image = Deno.readFileSync(UBOOT);
    const view = new DataView(image.buffer);
    const q = (i: number) => view.getBigUint64(i * 8, true).toString(16).padStart(16, "0");
    const md = await ubootCommand(m, out, "md.q 0x80200000 4");
    assert.match(md, new RegExp(`80200000: ${q(0)} ${q(1)}`));
    assert.match(md, new RegExp(`80200010: ${q(2)} ${q(3)}`));
  },
));

for (const smp of [2, 4]) {
  Deno.test(hostTest(
    `OpenSBI + U-Boot boot bare with ${smp} harts: OpenSBI counts them all, U-Boot answers`,
    missing(FW_JUMP, UBOOT),
    async () => {
      const { m, out } = await bootToPrompt("bare", smp);
      const banner = out();
      assert.match(banner, new RegExp(`Platform HART Count\\s*: ${smp}\r?\n`));
      const harts = [...Array(smp).keys()].map((i) => `${i}\\*`).join(",");
      assert.match(banner, new RegExp(`Domain0 HARTs\\s*: ${harts}\r?\n`));
      assert.match(await ubootCommand(m, out, "version"), /U-Boot 2023\.01/);
      // U-Boot runs on the boot hart; the others stay in OpenSBI (M-mode), waiting for an HSM
      // start (their MSIP is pending, so their wfi loop spins rather than waits).
      assert.equal(m.hart.priv, 1);
      for (const h of m.harts.slice(1)) {
        assert.equal(h.priv, 3, `hart ${h.hartId} in OpenSBI`);
        assert.ok(h.retired > 0, `hart ${h.hartId} ran`);
      }
    },
  ));
}

Deno.test(hostTest(
  "the OpenSBI banner matches QEMU's for the same CPU",
  missing(FW_JUMP, UBOOT, QEMU),
  async () => {
    const qemu = new Deno.Command(QEMU, {
      args: [
        "-M",
        "virt",
        "-m",
        "128M",
        "-nographic",
        "-cpu",
        QEMU_CPU,
        "-bios",
        FW_JUMP,
        "-kernel",
        UBOOT,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let qemuText = "";
    const reader = qemu.stdout.getReader();
    const decoder = new TextDecoder();
    const guard = setTimeout(() => qemu.kill("SIGKILL"), HANG_GUARD_MS);
    while (!qemuText.includes("Hit any key")) {
      const { value, done } = await reader.read();
      if (done) break;
      qemuText += decoder.decode(value);
    }
    clearTimeout(guard);
    qemu.kill();
    reader.releaseLock();
    await qemu.status;
    await qemu.stdout.cancel().catch(() => {});

    let ours = "";
    const m = new VirtMachine({
      bios: { name: FW_JUMP, bytes: Deno.readFileSync(FW_JUMP) },
      kernel: { name: UBOOT, bytes: Deno.readFileSync(UBOOT) },
      isa: "rv64imac", // QEMU_CPU's
      console: (b) => ours += String.fromCharCode(b),
    });
    await m.run({ until: "Hit any key", maxInstructions: UBOOT_BUDGET, timeoutMs: HANG_GUARD_MS });
    const expected = bannerLines(qemuText);
    assert.ok(expected.size >= 10, `QEMU printed no banner:\n${qemuText}`);
    assert.deepEqual(bannerLines(ours), expected);
  },
));

Deno.test(hostTest(
  "OpenSBI + U-Boot under the hypervisor: same console as bare, same answers",
  missing(FW_JUMP, UBOOT),
  async () => {
    const session = async (mode: Mode) => {
      const { m, out } = await bootToPrompt(mode);
      const answers = [
        await ubootCommand(m, out, "version"),
        await ubootCommand(m, out, "md.q 0x80200000 4"),
      ];
      // The countdown digits depend on timing; everything else must match.
      return { boot: out().replace(/autoboot: +\d.*/, "autoboot:"), answers };
    };
    const bare = await session("bare");
    const hv = await session("hypervisor");
    assert.equal(hv.boot, bare.boot);
    assert.deepEqual(hv.answers, bare.answers);
    assert.match(hv.answers[0], /U-Boot 2023\.01/);
  },
));

Deno.test(hostTest(
  "OpenSBI + U-Boot with 4 vCPUs under the hypervisor: U-Boot answers; the vCPUs OpenSBI keeps waiting spin once a turn, not a whole slice of wfi exits",
  missing(FW_JUMP, UBOOT),
  async () => {
    const { m, out } = await bootToPrompt("hypervisor", 4);
    assert.match(out(), /Platform HART Count\s*: 4\r?\n/);
    assert.match(await ubootCommand(m, out, "version"), /U-Boot 2023\.01/);
    // Their wfi returns at once (msip pending, as on QEMU) and each return is an exit: a
    // waiting vCPU gives up its turn at its wfi, so the harts take at most one per round
    // (a round: the boot vCPU's SLICE instructions, its wfi-free U-Boot never yielding).
    const { vcpus } = (m as ReturnType<typeof createHypervisorMachine>).hypervisor;
    const rounds = m.harts[0].retired / SLICE;
    for (const v of vcpus.slice(1)) {
      assert.equal(v.guest.vcpu.priv, 3, `vCPU ${v.vcpuIndex} in OpenSBI`);
      const wfi = v.vcpuExitCounts.get("wfi") ?? 0;
      assert.ok(
        wfi > 0 && wfi <= rounds + 1,
        `vCPU ${v.vcpuIndex}: ${wfi} wfi exits in ${rounds} rounds`,
      );
    }
  },
));
