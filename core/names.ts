/**
 * Architectural names for reports, traces and debuggers: the x registers' ABI
 * names and the privileged spec's names of trap causes.
 *
 * @module
 */

/** ABI names of x0..x31, in order. */
export const REG_NAMES: readonly string[] = [
  "zero",
  "ra",
  "sp",
  "gp",
  "tp",
  "t0",
  "t1",
  "t2",
  "s0",
  "s1",
  "a0",
  "a1",
  "a2",
  "a3",
  "a4",
  "a5",
  "a6",
  "a7",
  "s2",
  "s3",
  "s4",
  "s5",
  "s6",
  "s7",
  "s8",
  "s9",
  "s10",
  "s11",
  "t3",
  "t4",
  "t5",
  "t6",
];

const INTERRUPT_NAMES: Readonly<Record<number, string>> = {
  1: "supervisor software interrupt",
  3: "machine software interrupt",
  5: "supervisor timer interrupt",
  7: "machine timer interrupt",
  9: "supervisor external interrupt",
  11: "machine external interrupt",
};

const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  0: "instruction address misaligned",
  1: "instruction access fault",
  2: "illegal instruction",
  3: "breakpoint",
  4: "load address misaligned",
  5: "load access fault",
  6: "store/AMO address misaligned",
  7: "store/AMO access fault",
  8: "ecall from U-mode",
  9: "ecall from S-mode",
  11: "ecall from M-mode",
  12: "instruction page fault",
  13: "load page fault",
  15: "store/AMO page fault",
};

/** The privileged spec's name of a trap cause ("load page fault"), for traces. */
export function causeName(cause: number, interrupt: boolean): string {
  return (interrupt ? INTERRUPT_NAMES : EXCEPTION_NAMES)[cause] ?? `reserved cause ${cause}`;
}
