/**
 * Control and status registers: numbers, names and the rules that are plain
 * data (privilege spec 1.12, table 2.2-2.5). Behaviour that is not a bit mask
 * (views such as sstatus, counters, satp's mode check) lives in the hart.
 *
 * @module
 */

/** CSR numbers used by name in the code. */
export const Csr = {
  fflags: 0x001,
  frm: 0x002,
  fcsr: 0x003,
  cycle: 0xc00,
  time: 0xc01,
  instret: 0xc02,
  sstatus: 0x100,
  sie: 0x104,
  stvec: 0x105,
  scounteren: 0x106,
  senvcfg: 0x10a,
  sscratch: 0x140,
  sepc: 0x141,
  scause: 0x142,
  stval: 0x143,
  sip: 0x144,
  satp: 0x180,
  mvendorid: 0xf11,
  marchid: 0xf12,
  mimpid: 0xf13,
  mhartid: 0xf14,
  mconfigptr: 0xf15,
  mstatus: 0x300,
  misa: 0x301,
  medeleg: 0x302,
  mideleg: 0x303,
  mie: 0x304,
  mtvec: 0x305,
  mcounteren: 0x306,
  menvcfg: 0x30a,
  mcountinhibit: 0x320,
  mscratch: 0x340,
  mepc: 0x341,
  mcause: 0x342,
  mtval: 0x343,
  mip: 0x344,
  pmpcfg0: 0x3a0,
  pmpcfg2: 0x3a2,
  pmpaddr0: 0x3b0,
  mcycle: 0xb00,
  minstret: 0xb02,
  tselect: 0x7a0,
  tdata1: 0x7a1,
  tdata2: 0x7a2,
  tdata3: 0x7a3,
  tinfo: 0x7a4,
} as const;

/** Bits of mstatus (low word; UXL/SXL/SD live in the high word). */
export const Mstatus = {
  SIE: 1 << 1,
  MIE: 1 << 3,
  SPIE: 1 << 5,
  UBE: 1 << 6,
  MPIE: 1 << 7,
  SPP: 1 << 8,
  VS: 3 << 9,
  MPP: 3 << 11,
  FS: 3 << 13,
  XS: 3 << 15,
  MPRV: 1 << 17,
  SUM: 1 << 18,
  MXR: 1 << 19,
  TVM: 1 << 20,
  TW: 1 << 21,
  TSR: 1 << 22,
} as const;

/** The mstatus bits that M-mode software may change (QEMU 7.2's write_mstatus mask, no F/V). */
export const MSTATUS_WRITABLE = Mstatus.SIE | Mstatus.MIE | Mstatus.SPIE | Mstatus.MPIE |
  Mstatus.SPP | Mstatus.MPP | Mstatus.MPRV | Mstatus.SUM | Mstatus.MXR | Mstatus.TVM |
  Mstatus.TW | Mstatus.TSR;

/** The mstatus bits visible through sstatus (low word). */
export const SSTATUS_MASK = Mstatus.SIE | Mstatus.SPIE | Mstatus.UBE | Mstatus.SPP | Mstatus.VS |
  Mstatus.FS | Mstatus.XS | Mstatus.SUM | Mstatus.MXR;

/** High word of mstatus: UXL = SXL = 2 (64-bit), read-only. */
export const MSTATUS_HI_FIXED = 0x0000000a;

/**
 * Interrupt bits that mideleg can delegate: the supervisor interrupts, and (QEMU
 * 7.2's choice, kept for lockstep comparison) the VS bits 2, 6, 10 and LCOFI 13.
 */
export const MIDELEG_WRITABLE = 0x2666;

/** Exception causes that medeleg can delegate: all but ecall from M (11) and reserved ones. */
export const MEDELEG_WRITABLE = 0xf0bfff; // as QEMU 7.2: 0-13 and 15, plus 20-23 (reserved for H)

/** mip bits software can write: SSIP, STIP, SEIP (M-mode); SSIP through sip. */
export const MIP_WRITABLE = (1 << 1) | (1 << 5) | (1 << 9);

/** Writable mie bits: SSI, MSI, STI, MTI, SEI, MEI, plus QEMU 7.2's VS bits and LCOFI. */
export const MIE_WRITABLE = 0x2eee;

/** The supervisor view of mip/mie. */
export const S_INTERRUPTS = 0x222;

/** Exception cause codes (mcause with the interrupt bit clear). */
export const Cause = {
  MISALIGNED_FETCH: 0,
  FETCH_ACCESS: 1,
  ILLEGAL_INSTRUCTION: 2,
  BREAKPOINT: 3,
  MISALIGNED_LOAD: 4,
  LOAD_ACCESS: 5,
  MISALIGNED_STORE: 6,
  STORE_ACCESS: 7,
  ECALL_U: 8,
  ECALL_S: 9,
  ECALL_M: 11,
  FETCH_PAGE_FAULT: 12,
  LOAD_PAGE_FAULT: 13,
  STORE_PAGE_FAULT: 15,
} as const;

/** Names of CSRs for traces and the debugger (numbers not listed have no name). */
export const CSR_NAMES: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>(Object.entries(Csr).map(([k, v]) => [v, k]));
  for (let i = 1; i < 4; i++) m.set(Csr.pmpcfg0 + i, `pmpcfg${i}`);
  for (let i = 0; i < 64; i++) m.set(Csr.pmpaddr0 + i, `pmpaddr${i}`);
  for (let i = 3; i < 32; i++) {
    m.set(0xb00 + i, `mhpmcounter${i}`);
    m.set(0x320 + i, `mhpmevent${i}`);
    m.set(0xc00 + i, `hpmcounter${i}`);
  }
  return m;
})();

/**
 * CSRs that exist in this hart and are plain storage with a write mask
 * (low word, high word). Others are handled by name in the hart; anything
 * in neither set raises illegal instruction.
 */
export const PLAIN_CSRS: ReadonlyMap<number, readonly [number, number]> = new Map<
  number,
  readonly [number, number]
>([
  [Csr.sscratch, [-1, -1]],
  [Csr.mscratch, [-1, -1]],
  [Csr.stval, [-1, -1]],
  [Csr.mtval, [-1, -1]],
  [Csr.scause, [-1, -1]],
  [Csr.mcause, [-1, -1]],
  [Csr.sepc, [-2, -1]], // bit 0 is always zero; bit 1 stays writable because C is present
  [Csr.mepc, [-2, -1]],
  [Csr.scounteren, [-1, 0]], // all 32 enables are writable (the hpm counters read zero)
  [Csr.mcounteren, [-1, 0]],
  [Csr.senvcfg, [1, 0]], // FIOM only: no CBO or Svpbmt extensions
  [Csr.menvcfg, [1, 0]],
  [Csr.mcountinhibit, [0, 0]],
  [Csr.medeleg, [MEDELEG_WRITABLE, 0]],
  [Csr.mideleg, [MIDELEG_WRITABLE, 0]],
  [Csr.mvendorid, [0, 0]],
  [Csr.marchid, [0, 0]],
  [Csr.mimpid, [0, 0]],
  [Csr.mhartid, [0, 0]],
  [Csr.mconfigptr, [0, 0]],
]);
