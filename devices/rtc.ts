/**
 * Goldfish RTC as QEMU 7.2's hw/rtc/goldfish_rtc.c models it on `virt` (PLIC
 * source 11): a 64-bit nanosecond clock with one alarm.
 *
 * Wall-clock nanoseconds exceed 2^53, so the time, its offset and the alarm are
 * BigInts; the RTC is far off the hot path (Linux reads it at boot and when
 * setting alarms).
 *
 * @module
 */

import type { AccessRule, DeviceAccessSize, MmioDevice } from "../core/bus.ts";
import type { IrqLine } from "../core/irq.ts";

/** Physical base address of the RTC on `virt`. */
export const RTC_BASE = 0x10_1000;
/** Size of the RTC's address range. */
export const RTC_SIZE = 0x1000;
/** PLIC source of the RTC. */
export const RTC_IRQ = 11;

/** Register offsets. */
export const RtcReg = {
  /** Low 32 bits of the time in ns; reading it latches TIME_HIGH. */
  TIME_LOW: 0x00,
  /** High 32 bits of the time, as latched by the last TIME_LOW read. */
  TIME_HIGH: 0x04,
  /** Low half of the alarm time; writing it arms the alarm. */
  ALARM_LOW: 0x08,
  /** High half of the alarm time; write it before ALARM_LOW. */
  ALARM_HIGH: 0x0c,
  /** Bit 0 lets a fired alarm drive the interrupt line. */
  IRQ_ENABLED: 0x10,
  /** Any write disarms the alarm. */
  CLEAR_ALARM: 0x14,
  /** 1 while an alarm is armed and has not fired. */
  ALARM_STATUS: 0x18,
  /** Any write acknowledges a fired alarm. */
  CLEAR_INTERRUPT: 0x1c,
} as const;

const LOW_MASK = 0xffff_ffffn;
const HIGH_MASK = 0xffff_ffff_0000_0000n;

/** Saved state of a {@linkcode GoldfishRtc} (bigints: nanoseconds exceed 2^53). */
export interface RtcState {
  /** The RTC's time in ns when saved. */
  time: bigint;
  /** TIME_HIGH as latched by the last TIME_LOW read. */
  timeHigh: number;
  /** Alarm time in ns. */
  alarm: bigint;
  /** The alarm is armed. */
  alarmArmed: boolean;
  /** A fired alarm awaits CLEAR_INTERRUPT. */
  irqPending: boolean;
  /** IRQ_ENABLED. */
  irqEnabled: boolean;
}

/** The goldfish real-time clock. */
export class GoldfishRtc implements MmioDevice {
  /** Device name used in events and the DTB. */
  readonly name = "rtc";
  #offset = 0n;
  #timeHigh = 0;
  #alarm = 0n;
  #alarmArmed = false;
  #irqPending = false;
  #irqEnabled = false;
  /**
   * Called when a write arms the alarm. With the virtual clock the machine
   * runs the hart in batches that end at the deadlines known at their start;
   * a new alarm must end the batch so that the next one is cut to it.
   */
  onAlarmWrite: (() => void) | null = null;

  /**
   * @param irq the line into the interrupt controller.
   * @param nowNs the time source in ns (wall clock, or deterministic for
   *   reproducible runs): a bigint, as wall-clock ns exceed 2^53 and a double
   *   there would step by 256 ns.
   */
  constructor(readonly irq: IrqLine, readonly nowNs: () => bigint) {
    irq.set(false);
  }

  /**
   * QEMU 7.2's goldfish_rtc: 4-byte accesses to its 0x24 bytes of registers.
   * Its region shares a page with unmapped space, so QEMU reaches it through
   * a subpage, which makes an 8-byte access two 4-byte ones.
   */
  readonly rules: readonly AccessRule[] = [
    { offset: 0, size: 0x24, minWidth: 4, maxWidth: 8, implWidth: 4 },
  ];

  /** Reads a register (4 bytes: the rules refuse others). */
  read(offset: number, _size: DeviceAccessSize): number {
    switch (offset) {
      case RtcReg.TIME_LOW: {
        const now = this.#now();
        this.#timeHigh = Number(now >> 32n);
        return Number(now & LOW_MASK);
      }
      case RtcReg.TIME_HIGH:
        return this.#timeHigh;
      case RtcReg.ALARM_LOW:
        return Number(this.#alarm & LOW_MASK);
      case RtcReg.ALARM_HIGH:
        return Number(this.#alarm >> 32n);
      case RtcReg.IRQ_ENABLED:
        return this.#irqEnabled ? 1 : 0;
      case RtcReg.ALARM_STATUS:
        return this.#alarmArmed ? 1 : 0;
      default:
        return 0;
    }
  }

  /** Writes a register (4 bytes: the rules refuse others). */
  write(offset: number, _size: DeviceAccessSize, value: number): void {
    const word = BigInt(value >>> 0);
    switch (offset) {
      case RtcReg.TIME_LOW: {
        const now = this.#now();
        this.#offset += ((now & HIGH_MASK) | word) - now;
        break;
      }
      case RtcReg.TIME_HIGH: {
        const now = this.#now();
        this.#offset += ((word << 32n) | (now & LOW_MASK)) - now;
        break;
      }
      case RtcReg.ALARM_LOW:
        this.#alarm = (this.#alarm & HIGH_MASK) | word;
        this.#alarmArmed = true;
        this.update();
        this.onAlarmWrite?.();
        break;
      case RtcReg.ALARM_HIGH:
        this.#alarm = (word << 32n) | (this.#alarm & LOW_MASK);
        break;
      case RtcReg.IRQ_ENABLED:
        this.#irqEnabled = (value & 1) !== 0;
        this.#drive();
        break;
      case RtcReg.CLEAR_ALARM:
        this.#alarmArmed = false;
        break;
      case RtcReg.CLEAR_INTERRUPT:
        this.#irqPending = false;
        this.#drive();
        break;
    }
  }

  /**
   * The RTC's state for a snapshot. The time is saved as the RTC's own reading,
   * not as the guest's offset from the time source, so that it continues from
   * where it was whatever the time source of the restoring machine says.
   */
  saveState(): RtcState {
    return {
      time: this.#now(),
      timeHigh: this.#timeHigh,
      alarm: this.#alarm,
      alarmArmed: this.#alarmArmed,
      irqPending: this.#irqPending,
      irqEnabled: this.#irqEnabled,
    };
  }

  /** Restores {@linkcode saveState}'s state (after the time source was restored). */
  loadState(state: RtcState): void {
    this.#offset = 0n;
    this.#offset = state.time - this.#now();
    this.#timeHigh = state.timeHigh;
    this.#alarm = state.alarm;
    this.#alarmArmed = state.alarmArmed;
    this.#irqPending = state.irqPending;
    this.#irqEnabled = state.irqEnabled;
  }

  /** Fires the alarm once its time has come; the machine loop calls it as time passes. */
  update(): void {
    if (this.#alarmArmed && this.#now() >= this.#alarm) {
      this.#alarmArmed = false;
      this.#irqPending = true;
      this.#drive();
    }
  }

  /**
   * Nanoseconds of the time source until the armed alarm fires (as QEMU's
   * goldfish_rtc_set_alarm arms its timer at `alarm - tick_offset`), or null
   * when none is armed: the machine ends an instruction batch there.
   */
  nanosUntilAlarm(): bigint | null {
    return this.#alarmArmed ? this.#alarm - this.#now() : null;
  }

  /** RTC time: the source's ns plus the guest's adjustment, wrapped to 64 bits. */
  #now(): bigint {
    return BigInt.asUintN(64, this.nowNs() + this.#offset);
  }

  /** QEMU's goldfish_rtc_update: signals the line each time, changed or not (the PLIC pends on each). */
  #drive(): void {
    this.irq.set(this.#irqPending && this.#irqEnabled);
  }
}
