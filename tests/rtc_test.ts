import assert from "node:assert/strict";
import { GoldfishRtc } from "../devices/rtc.ts";
import { VirtMachine } from "../devices/virt.ts";
import { MachineConfigError } from "../devices/board.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import { createMachine } from "../hypervisor/machine.ts";
import { buildGuests } from "../scripts/build-guests.ts";

const TIME_LOW = 0x00, TIME_HIGH = 0x04;
const ALARM_LOW = 0x08, ALARM_HIGH = 0x0c;
const IRQ_ENABLED = 0x10, CLEAR_ALARM = 0x14, ALARM_STATUS = 0x18, CLEAR_INTERRUPT = 0x1c;

/** A raw kernel of one instruction, `j .`: the machine is only built, not run. */
const SPIN = { name: "spin.bin", bytes: new Uint8Array([0x6f, 0, 0, 0]) };

function setup(startNs = 0) {
  const time = { ns: startNs };
  const irq = {
    level: false,
    set(level: boolean) {
      this.level = level;
    },
  };
  const rtc = new GoldfishRtc(irq, () => BigInt(time.ns));
  const r = (reg: number) => rtc.read(reg, 4);
  const w = (reg: number, v: number) => rtc.write(reg, 4, v);
  const readTime = () => {
    const low = BigInt(r(TIME_LOW));
    return (BigInt(r(TIME_HIGH)) << 32n) | low;
  };
  return { time, irq, rtc, r, w, readTime };
}

Deno.test("rtc: reading TIME_LOW latches TIME_HIGH", () => {
  const { time, r } = setup(0x12_3456_789a);
  assert.equal(r(TIME_LOW), 0x3456_789a);
  time.ns = 0x99_0000_0000;
  assert.equal(r(TIME_HIGH), 0x12);
  assert.equal(r(TIME_LOW), 0);
  assert.equal(r(TIME_HIGH), 0x99);
});

Deno.test("rtc: wall-clock nanoseconds above 2^53 read back exactly", () => {
  const { readTime } = setup(1_700_000_000_000_000_000);
  assert.equal(readTime(), 1_700_000_000_000_000_000n);
});

Deno.test("rtc: writing the time moves it and it keeps running from there", () => {
  const { time, w, readTime } = setup(5_000);
  w(TIME_HIGH, 0x1);
  w(TIME_LOW, 0x10);
  assert.equal(readTime(), 0x1_0000_0010n);
  time.ns += 250;
  assert.equal(readTime(), 0x1_0000_0010n + 250n);
});

Deno.test("rtc: an alarm fires once its time comes and drives the line when enabled", () => {
  const { time, irq, rtc, r, w } = setup(500);
  w(IRQ_ENABLED, 1);
  w(ALARM_HIGH, 0);
  w(ALARM_LOW, 1000);
  assert.equal(r(ALARM_STATUS), 1);
  assert.equal(r(ALARM_LOW), 1000);
  rtc.update();
  assert.equal(irq.level, false);
  time.ns = 1000;
  rtc.update();
  assert.equal(irq.level, true);
  assert.equal(r(ALARM_STATUS), 0);
  w(CLEAR_INTERRUPT, 1);
  assert.equal(irq.level, false);
});

Deno.test("rtc: an alarm already in the past fires on the ALARM_LOW write", () => {
  const { irq, r, w } = setup(2000);
  w(IRQ_ENABLED, 1);
  w(ALARM_LOW, 1000);
  assert.equal(irq.level, true);
  assert.equal(r(ALARM_STATUS), 0);
});

Deno.test("rtc: a fired alarm stays pending while interrupts are disabled", () => {
  const { time, irq, rtc, r, w } = setup(0);
  w(ALARM_LOW, 10);
  time.ns = 20;
  rtc.update();
  assert.equal(irq.level, false);
  assert.equal(r(IRQ_ENABLED), 0);
  w(IRQ_ENABLED, 1);
  assert.equal(irq.level, true);
  w(IRQ_ENABLED, 0);
  assert.equal(irq.level, false);
});

// QEMU 7.2 goldfish_rtc_update (qemu_set_irq with the level, changed or not) runs on every
// IRQ_ENABLED and CLEAR_INTERRUPT write and when the alarm fires; the PLIC pends on each high one.
Deno.test("rtc: IRQ_ENABLED and CLEAR_INTERRUPT writes signal the line every time", () => {
  const time = { ns: 0 };
  const signals: boolean[] = [];
  const irq = { set: (level: boolean) => signals.push(level) };
  const probe = new GoldfishRtc(irq, () => BigInt(time.ns));
  signals.length = 0;
  probe.write(ALARM_LOW, 4, 10);
  time.ns = 20;
  probe.update();
  probe.write(IRQ_ENABLED, 4, 1);
  probe.write(IRQ_ENABLED, 4, 1);
  probe.write(CLEAR_ALARM, 4, 1);
  probe.write(CLEAR_INTERRUPT, 4, 1);
  probe.write(CLEAR_INTERRUPT, 4, 1);
  assert.deepEqual(signals, [false, true, true, false, false]);
});

Deno.test("rtc: CLEAR_ALARM disarms a pending alarm", () => {
  const { time, irq, rtc, r, w } = setup(0);
  w(IRQ_ENABLED, 1);
  w(ALARM_LOW, 10);
  w(CLEAR_ALARM, 1);
  assert.equal(r(ALARM_STATUS), 0);
  time.ns = 20;
  rtc.update();
  assert.equal(irq.level, false);
});

Deno.test("rtc: the alarm compares all 64 bits", () => {
  const { time, irq, rtc, w } = setup(0x5_0000_0000);
  w(IRQ_ENABLED, 1);
  w(ALARM_HIGH, 6);
  w(ALARM_LOW, 0);
  assert.equal(irq.level, false);
  time.ns = 0x5_ffff_ffff;
  rtc.update();
  assert.equal(irq.level, false);
  time.ns = 0x6_0000_0000;
  rtc.update();
  assert.equal(irq.level, true);
});

Deno.test("rtc: rtcBase sets the board's time at start-up, bare and for a guest", () => {
  const base = Date.UTC(2030, 0, 2, 3, 4, 5);
  const bare = new VirtMachine({ rtcBase: base, clock: "virtual", kernel: SPIN });
  const hv = createHypervisorMachine({ rtcBase: base, clock: "virtual", kernel: SPIN });
  for (const rtc of [bare.rtc, hv.hypervisor.guest.devices.rtc]) {
    const low = BigInt(rtc.read(TIME_LOW, 4));
    assert.equal((BigInt(rtc.read(TIME_HIGH, 4)) << 32n) | low, BigInt(base) * 1_000_000n);
  }
  assert.throws(
    () => new VirtMachine({ rtcBase: -1, kernel: SPIN }),
    (e: Error) => e instanceof MachineConfigError && /RTC base -1/.test(e.message),
  );
});

Deno.test("rtc: with the virtual clock the alarm interrupt comes at the first instruction whose mtime tick reaches it, bare and under the hypervisor, the translator on and off", async () => {
  await buildGuests();
  const kernel = {
    name: "rtc_alarm.elf",
    bytes: Deno.readFileSync(new URL("../guests/jit/build/rtc_alarm.elf", import.meta.url)),
  };
  const base = Date.UTC(2026, 0, 1);
  const epochNs = BigInt(base) * 1_000_000n;
  const seen = new Set<string>();
  for (const hypervisor of [false, true]) {
    for (const jit of [false, true, true]) {
      const m = createMachine({ kernel, hypervisor, jit, clock: "virtual", rtcBase: base });
      const r = await m.run({ maxInstructions: 50_000_000 });
      assert.equal(`${r.stop} ${r.exitCode}`, "halt 0", "the program itself failed");
      // The RTC's time is the epoch plus mtime's 100 ns ticks, and mtime is instructions / 100:
      // an alarm is due at the first instruction of the tick at or after it.
      const due = (alarm: bigint) => (alarm - epochNs + 99n) / 100n * 100n;
      // The first alarm, armed before the first batch ended, and the second, armed in the middle
      // of a batch by the first's handler; neither is due at the end of a 32,768-instruction batch.
      for (const [alarm, retired, time] of [["s1", "s2", "s3"], ["s6", "s7", "s8"]] as const) {
        const at = due(m.getReg(alarm));
        assert.ok(at % 32768n > 100n, `due at ${at}`);
        const delay = m.getReg(retired) - at;
        assert.ok(delay >= 0n && delay <= 4n, `minstret in the handler ${delay} after ${alarm}`);
        assert.ok(m.getReg(time) - m.getReg(alarm) < 100n);
      }
      seen.add((["s2", "s3", "s5", "s7", "s8"] as const).map((r) => m.getReg(r)).join(" "));
    }
  }
  // The same instruction and time in every run.
  assert.equal(seen.size, 1, [...seen].join("; "));
});

Deno.test("rtc: with the virtual clock and two guests, each guest's alarm interrupt comes in the mtime tick that reaches it", async () => {
  await buildGuests();
  const kernel = {
    name: "rtc_alarm.elf",
    bytes: Deno.readFileSync(new URL("../guests/jit/build/rtc_alarm.elf", import.meta.url)),
  };
  const guest = { kernel, rtcBase: Date.UTC(2026, 0, 1), memory: 16 << 20 };
  const m = createMachine({ clock: "virtual", guests: [guest, guest] });
  assert.equal((await m.run({ maxInstructions: 50_000_000 })).stop, "halt");
  for (const g of m.guests) {
    assert.equal(g.halted?.reason, "poweroff", "the program itself failed");
    const { xl, xh } = g.hypervisor.registers;
    const reg = (n: number) => (BigInt(xh[n] >>> 0) << 32n) | BigInt(xl[n] >>> 0);
    // The RTC's time in each handler (s3, s8) less its alarm (s1, s6): the same tick.
    for (const [time, alarm] of [[19, 9], [24, 22]]) assert.ok(reg(time) - reg(alarm) < 100n);
  }
});
