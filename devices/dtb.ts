/**
 * The device tree of the `virt` machine, generated from its configuration.
 *
 * The shape (node names, property order, phandle numbers, interrupt wiring)
 * copies what QEMU 7.2 generates for `-M virt -smp N` with rv64imafdc harts, so
 * that a guest sees the same tree on QEMU and on rvisor. Left out on purpose, because
 * rvisor has no such device: `pmu` (no hpm counters), `fw-cfg`, `flash`,
 * `platform-bus` and `pci` (no PCI host bridge; QEMU's pci@30000000).
 *
 * @module
 */

import { FdtNode, serializeFdt } from "../core/fdt.ts";
import { RAM_BASE } from "../core/bus.ts";
import { Irq } from "../core/irq.ts";
import { TIMEBASE_HZ } from "../core/clock.ts";
import { DEFAULT_ISA, dtbIsaString, isaHasFD } from "../core/fpu.ts";

/** Physical layout of the `virt` devices in the tree (QEMU 7.2 `virt_memmap`). */
export const VIRT_MEMMAP = {
  test: { base: 0x0010_0000, size: 0x1000 },
  rtc: { base: 0x0010_1000, size: 0x1000 },
  clint: { base: 0x0200_0000, size: 0x1_0000 },
  plic: { base: 0x0c00_0000, size: 0x60_0000 },
  uart0: { base: 0x1000_0000, size: 0x100 },
  virtio: { base: 0x1000_1000, size: 0x1000 },
} as const;

/** PLIC source numbers of the `virt` devices. */
export const VIRT_IRQ = {
  /** First virtio-mmio slot; slot i uses VIRTIO0 + i. */
  VIRTIO0: 1,
  UART0: 10,
  RTC: 11,
} as const;

/** Number of virtio-mmio slots QEMU's `virt` always describes. */
export const VIRTIO_SLOTS = 8;
/** `riscv,ndev` of QEMU 7.2's PLIC: sources 1..95 plus the reserved source 0. */
export const PLIC_NDEV = 96;
/** UART input clock QEMU advertises (3.6864 MHz). */
export const UART_CLOCK_HZ = 0x38_4000;

/**
 * Phandles, numbered as QEMU 7.2 numbers them for `harts` harts: it makes the
 * cpu nodes from the last hart down, each taking one for the cpu and one for
 * its interrupt controller, then the PLIC's and the test device's.
 */
function phandles(harts: number) {
  const cpu = (hart: number) => 2 * (harts - 1 - hart) + 1;
  return { cpu, intc: (hart: number) => cpu(hart) + 1, plic: 2 * harts + 1, test: 2 * harts + 2 };
}

/** What the generated tree describes. */
export interface VirtDtbConfig {
  /** RAM size in bytes. */
  ramSize: number;
  /** RAM base; default 0x8000_0000. */
  ramBase?: number;
  /** Number of harts, cpu@0 up (`-smp N`); default 1. */
  harts?: number;
  /**
   * `riscv,isa` of every cpu; default that of the default ISA (`rv64imafdc_zicsr_zifencei`,
   * the string QEMU 7.2 prints for an rv64imafdc hart).
   */
  isa?: string;
  /** `mmu-type` of every cpu; default `riscv,sv39` (QEMU says sv48; our MMU has Sv39 only). */
  mmuType?: string;
  /** Kernel command line (`/chosen/bootargs`), omitted when undefined. */
  bootargs?: string;
  /** Initial ramdisk range `[start, end)` (`linux,initrd-start/end`), omitted when undefined. */
  initrd?: { start: number; end: number };
  /** Bytes for `/chosen/rng-seed` (QEMU passes 32 random bytes), omitted when undefined. */
  rngSeed?: Uint8Array;
  /** Header boot_cpuid_phys; default 0. */
  bootCpuId?: number;
  /**
   * The tree as an SBI firmware hands it to the kernel (OpenSBI's fdt_fixups),
   * for the hypervisor's built-in firmware: the PLIC's M-mode context is marked
   * unusable (interrupt 0xffffffff, fdt_plic_fixup). Nothing is reserved: the
   * built-in firmware has no memory in the guest.
   */
  firmwareFixups?: boolean;
}

/** `reg` of a device under a node with #address-cells = #size-cells = 2. */
function reg(base: number, size: number): { u64: number[] } {
  return { u64: [base, size] };
}

/** Builds the `virt` device tree for `cfg` and returns it as DTB bytes. */
export function buildVirtDtb(cfg: VirtDtbConfig): Uint8Array {
  return serializeFdt(buildVirtFdt(cfg), { bootCpuId: cfg.bootCpuId ?? 0 });
}

/** Builds the `virt` device tree for `cfg` as a node tree (callers may add nodes). */
export function buildVirtFdt(cfg: VirtDtbConfig): FdtNode {
  const ramBase = cfg.ramBase ?? RAM_BASE;
  const harts = cfg.harts ?? 1;
  if (!(Number.isInteger(harts) && harts >= 1)) throw new RangeError(`${harts} harts in a DTB`);
  const PHANDLE = phandles(harts);
  const hartIds = Array.from({ length: harts }, (_, hart) => hart);
  const m = VIRT_MEMMAP;
  const root = new FdtNode("")
    .prop("#address-cells", 2)
    .prop("#size-cells", 2)
    .prop("compatible", "riscv-virtio")
    .prop("model", "riscv-virtio,qemu");

  const chosen = root.child("chosen");
  if (cfg.initrd) {
    // QEMU 7.2 writes these as single cells (qemu_fdt_setprop_cell).
    chosen.prop("linux,initrd-end", cfg.initrd.end);
    chosen.prop("linux,initrd-start", cfg.initrd.start);
  }
  if (cfg.rngSeed) chosen.prop("rng-seed", cfg.rngSeed);
  if (cfg.bootargs !== undefined) chosen.prop("bootargs", cfg.bootargs);
  chosen.prop("stdout-path", `/soc/serial@${m.uart0.base.toString(16)}`);

  // sifive,test0 register values that Linux's syscon drivers write.
  root.child("poweroff")
    .prop("value", 0x5555).prop("offset", 0).prop("regmap", PHANDLE.test)
    .prop("compatible", "syscon-poweroff");
  root.child("reboot")
    .prop("value", 0x7777).prop("offset", 0).prop("regmap", PHANDLE.test)
    .prop("compatible", "syscon-reboot");

  root.child(`memory@${ramBase.toString(16)}`)
    .prop("device_type", "memory")
    .prop("reg", reg(ramBase, cfg.ramSize));

  const cpus = root.child("cpus")
    .prop("#address-cells", 1)
    .prop("#size-cells", 0)
    .prop("timebase-frequency", TIMEBASE_HZ);
  for (const hart of hartIds) {
    cpus.child(`cpu@${hart}`)
      .prop("phandle", PHANDLE.cpu(hart))
      .prop("device_type", "cpu")
      .prop("reg", hart)
      .prop("status", "okay")
      .prop("compatible", "riscv")
      .prop("riscv,isa", cfg.isa ?? dtbIsaString(isaHasFD(DEFAULT_ISA)))
      .prop("mmu-type", cfg.mmuType ?? "riscv,sv39")
      .child("interrupt-controller")
      .prop("#interrupt-cells", 1)
      .prop("interrupt-controller", null)
      .prop("compatible", "riscv,cpu-intc")
      .prop("phandle", PHANDLE.intc(hart));
  }
  const cluster = cpus.child("cpu-map").child("cluster0");
  for (const hart of hartIds) cluster.child(`core${hart}`).prop("cpu", PHANDLE.cpu(hart));

  const soc = root.child("soc")
    .prop("#address-cells", 2)
    .prop("#size-cells", 2)
    .prop("compatible", "simple-bus")
    .prop("ranges", null);
  const plicDevice = (node: FdtNode, irq: number) =>
    node.prop("interrupts", irq).prop("interrupt-parent", PHANDLE.plic);

  plicDevice(soc.child(`rtc@${m.rtc.base.toString(16)}`), VIRT_IRQ.RTC)
    .prop("reg", reg(m.rtc.base, m.rtc.size))
    .prop("compatible", "google,goldfish-rtc");
  plicDevice(soc.child(`serial@${m.uart0.base.toString(16)}`), VIRT_IRQ.UART0)
    .prop("clock-frequency", UART_CLOCK_HZ)
    .prop("reg", reg(m.uart0.base, m.uart0.size))
    .prop("compatible", "ns16550a");
  soc.child(`test@${m.test.base.toString(16)}`)
    .prop("phandle", PHANDLE.test)
    .prop("reg", reg(m.test.base, m.test.size))
    .prop("compatible", ["sifive,test1", "sifive,test0", "syscon"]);
  // QEMU adds the slots last-first (libfdt prepends subnodes), so slot 7 comes first.
  for (let slot = VIRTIO_SLOTS - 1; slot >= 0; slot--) {
    const base = m.virtio.base + slot * m.virtio.size;
    plicDevice(soc.child(`virtio_mmio@${base.toString(16)}`), VIRT_IRQ.VIRTIO0 + slot)
      .prop("reg", reg(base, m.virtio.size))
      .prop("compatible", "virtio,mmio");
  }
  // PLIC context 2i drives hart i's M external interrupt, context 2i+1 its S one.
  soc.child(`plic@${m.plic.base.toString(16)}`)
    .prop("phandle", PHANDLE.plic)
    .prop("riscv,ndev", PLIC_NDEV)
    .prop("reg", reg(m.plic.base, m.plic.size))
    .prop(
      "interrupts-extended",
      hartIds.flatMap((hart) => [
        PHANDLE.intc(hart),
        cfg.firmwareFixups ? 0xffffffff : Irq.MEIP,
        PHANDLE.intc(hart),
        Irq.SEIP,
      ]),
    )
    .prop("interrupt-controller", null)
    .prop("compatible", ["sifive,plic-1.0.0", "riscv,plic0"])
    .prop("#address-cells", 0)
    .prop("#interrupt-cells", 1);
  soc.child(`clint@${m.clint.base.toString(16)}`)
    .prop(
      "interrupts-extended",
      hartIds.flatMap((hart) => [PHANDLE.intc(hart), Irq.MSIP, PHANDLE.intc(hart), Irq.MTIP]),
    )
    .prop("reg", reg(m.clint.base, m.clint.size))
    .prop("compatible", ["sifive,clint0", "riscv,clint0"]);
  return root;
}
