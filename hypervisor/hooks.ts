/**
 * Hook filters for the script facade (hypervisor/machine.ts): which events of
 * an event-bus topic reach a hook. A filter is compiled once into a predicate,
 * so a hook with a filter costs one call per event of its topic, and nothing
 * at all once removed (the bus then has no listener left for the topic).
 *
 * @module
 */

import type { EventMap, ExitKind, Priv, Topic } from "../core/events.ts";
import { checkInteger, checkOneOf, checkOneOrMany, checkRange, checkType } from "./args.ts";
import { csrIndex } from "./inspect.ts";

/** One value or a list of accepted values. */
export type OneOrMany<T> = T | readonly T[];

/** A half-open address range `[start, end)`, or one address. */
export type AddressRange = number | readonly [number, number];

/**
 * Which events reach a hook. Every field given must match; fields that do not
 * apply to the topic are rejected when the hook is added.
 */
export interface HookFilter {
  /** trap, exit, guestTrap: the cause (mcause without the interrupt bit). */
  cause?: OneOrMany<number>;
  /** trap, exit, guestTrap: only interrupts (true) or only exceptions (false). */
  interrupt?: boolean;
  /** csr: CSR numbers or names (`"satp"`). */
  csr?: OneOrMany<number | string>;
  /** csr, mmio: only writes (true) or only reads (false). */
  write?: boolean;
  /** mmio: physical address range; trap, exit, guestTrap, csr: pc range. */
  address?: AddressRange;
  /** mmio: device name (`uart`, `clint`, `plic`, `virtio-blk`...). */
  device?: OneOrMany<string>;
  /** exit: guest virtual mode at the exit; guestTrap: the mode the trap was taken from. */
  vpriv?: OneOrMany<Priv>;
  /** exit: exit class (`ecall`, `csr-write`, `shadow-fill`...). */
  kind?: OneOrMany<ExitKind>;
  /** trap, csr, irq: the hart's id (mhartid; under the hypervisor, the vCPU's); irq lines of the PLIC never match. */
  hartId?: OneOrMany<number>;
}

/** The filter fields each topic understands. */
const FIELDS: { [K in Topic]: readonly (keyof HookFilter)[] } = {
  trap: ["cause", "interrupt", "address", "hartId"],
  exit: ["cause", "interrupt", "address", "vpriv", "kind"],
  guestTrap: ["cause", "interrupt", "address", "vpriv"],
  csr: ["csr", "write", "address", "hartId"],
  mmio: ["address", "write", "device"],
  irq: ["hartId"],
  console: ["device"],
  halt: [],
};

/** Every event-bus topic, in {@linkcode FIELDS}' order (the order `-h` lists them). */
export const TOPICS: readonly Topic[] = Object.keys(FIELDS) as Topic[];

/** Topics only the hypervisor publishes: a bare machine has none of their events. */
export const HYPERVISOR_TOPICS: readonly Topic[] = ["exit", "guestTrap"];

/** The topics a machine publishes, bare or under the hypervisor. */
export function machineTopics(hypervisor: boolean): readonly Topic[] {
  return hypervisor ? TOPICS : TOPICS.filter((t) => !HYPERVISOR_TOPICS.includes(t));
}

const WHERE = "Machine.hook";

/** A filter field's values as a set, each checked by `check`. */
function set<T>(name: string, v: unknown, check: (w: string, n: string, x: unknown) => T): Set<T> {
  return new Set(checkOneOrMany(WHERE, `filter.${name}`, v, check));
}

const string = (w: string, n: string, x: unknown) => checkType<string>(w, n, x, "string");

/**
 * Compiles `filter` for `topic` into a predicate (null: everything matches).
 * Throws TypeError for a field the topic does not have, so that a typo does not
 * silently match every event.
 */
export function compileFilter<K extends Topic>(
  topic: K,
  filter: HookFilter | undefined,
): ((e: EventMap[K]) => boolean) | null {
  if (filter === undefined) return null;
  const allowed = FIELDS[topic];
  if (allowed === undefined) throw new TypeError(`no event topic ${topic}`);
  const tests: ((e: Record<string, unknown>) => boolean)[] = [];
  for (const key of Object.keys(filter) as (keyof HookFilter)[]) {
    if (filter[key] === undefined) continue;
    if (!allowed.includes(key)) {
      throw new TypeError(
        `hook filter field '${key}' does not apply to topic ${topic} ` +
          `(it has: ${allowed.join(", ") || "none"})`,
      );
    }
    switch (key) {
      case "cause": {
        const s = set("cause", filter.cause, (w, n, x) => checkInteger(w, n, x, 0));
        tests.push((e) => s.has(e.cause as number));
        break;
      }
      case "interrupt": {
        const want = checkType(WHERE, "filter.interrupt", filter.interrupt, "boolean");
        tests.push((e) => e.interrupt === want);
        break;
      }
      case "write": {
        const want = checkType(WHERE, "filter.write", filter.write, "boolean");
        tests.push((e) => e.write === want);
        break;
      }
      case "csr": {
        const s = set("csr", filter.csr, (_w, _n, x) => csrIndex(x as number | string));
        tests.push((e) => s.has(e.csr as number));
        break;
      }
      case "address": {
        const [lo, hi] = checkRange(WHERE, "filter.address", filter.address);
        const field = topic === "mmio" ? "addr" : "pc";
        tests.push((e) => (e[field] as number) >= lo && (e[field] as number) < hi);
        break;
      }
      case "device": {
        const s = set("device", filter.device, string);
        tests.push((e) => s.has(e.device as string));
        break;
      }
      case "vpriv": {
        const s = set("vpriv", filter.vpriv, (w, n, x) => checkOneOf<Priv>(w, n, x, [0, 1, 3]));
        const field = topic === "exit" ? "vpriv" : "from";
        tests.push((e) => s.has(e[field] as Priv));
        break;
      }
      case "kind": {
        const s = set("kind", filter.kind, string);
        tests.push((e) => s.has(e.kind as ExitKind));
        break;
      }
      case "hartId": {
        const s = set("hartId", filter.hartId, (w, n, x) => checkInteger(w, n, x, 0));
        tests.push((e) => s.has(e.hartId as number));
        break;
      }
    }
  }
  if (tests.length === 0) return null;
  return (e) => {
    for (const t of tests) if (!t(e as unknown as Record<string, unknown>)) return false;
    return true;
  };
}

/** What `hook`, `hookPc` and `watch` return: remove() detaches the hook for good. */
export interface HookHandle {
  /** Detaches the hook; with no hook left on its topic, the topic costs one check again. */
  remove(): void;
  /** False once removed. */
  readonly active: boolean;
}
