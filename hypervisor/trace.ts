/**
 * `--trace TOPICS`: one line of text per event-bus event, for the topics asked
 * for. Only those topics get a listener, so untraced topics keep costing one
 * check.
 *
 * @module
 */

import type { EventBus, EventMap, Topic } from "../core/events.ts";
import { causeName, hex, privName } from "./inspect.ts";
import { CSR_NAMES } from "../core/csr.ts";
import { machineTopics, TOPICS } from "./hooks.ts";

/**
 * Parses a comma-separated topic list (`trap,exit`; `all` for every topic the
 * machine publishes). Throws RangeError naming the first unknown topic, or a
 * hypervisor topic asked of a bare machine (it would never print).
 */
export function parseTraceTopics(text: string, hypervisor = true): Topic[] {
  const available = machineTopics(hypervisor);
  const topics = new Set<Topic>();
  for (const raw of text.split(",")) {
    const name = raw.trim();
    if (name === "") continue;
    if (name === "all") available.forEach((t) => topics.add(t));
    else if ((available as readonly string[]).includes(name)) topics.add(name as Topic);
    else if ((TOPICS as readonly string[]).includes(name)) {
      throw new RangeError(
        `topic '${name}' is the hypervisor's: a bare machine has no such events`,
      );
    } else throw new RangeError(`unknown topic '${name}' (topics: ${TOPICS.join(", ")}, all)`);
  }
  if (topics.size === 0) throw new RangeError(`no topic given (topics: ${TOPICS.join(", ")})`);
  return [...topics];
}

/** One line describing `event` of `topic` (no newline). */
export function formatEvent<K extends Topic>(topic: K, event: EventMap[K]): string {
  const e = event as EventMap[Topic];
  switch (topic) {
    case "trap":
    case "guestTrap": {
      const t = e as EventMap["trap"];
      return `${topic} ${t.interrupt ? "irq" : "exc"} ${t.cause} (${
        causeName(t.cause, t.interrupt)
      }) pc ${hex(t.pc)} tval ${hex(t.tval)} ${privName(t.from)}->${privName(t.to)}`;
    }
    case "exit": {
      const x = e as EventMap["exit"];
      return `exit ${x.kind} cause ${x.interrupt ? "irq" : "exc"} ${x.cause} pc ${hex(x.pc)} ` +
        `tval ${hex(x.tval)} vpriv ${privName(x.vpriv)}`;
    }
    case "csr": {
      const c = e as EventMap["csr"];
      const name = CSR_NAMES.get(c.csr) ?? hex(c.csr);
      return `csr ${c.write ? "write" : "read"} ${name} pc ${hex(c.pc)} old ${hex(c.value)}`;
    }
    case "mmio": {
      const m = e as EventMap["mmio"];
      return `mmio ${m.write ? "write" : "read"} ${m.device} ${hex(m.addr)} size ${m.size} ` +
        `value ${hex(m.value >>> 0)}`;
    }
    case "irq": {
      const i = e as EventMap["irq"];
      return `irq ${i.controller} line ${i.line} ${i.level ? "raised" : "lowered"}`;
    }
    case "console": {
      const c = e as EventMap["console"];
      return `console ${c.device} ${JSON.stringify(String.fromCharCode(...c.bytes))}`;
    }
    case "halt": {
      const h = e as EventMap["halt"];
      return `halt ${h.reason} code ${h.code}: ${h.message}`;
    }
  }
  return `${topic} ${JSON.stringify(event)}`;
}

/** Subscribes to `topics`, writing one line per event; returns a function that unsubscribes. */
export function traceEvents(
  events: EventBus,
  topics: readonly Topic[],
  write: (line: string) => void,
): () => void {
  const offs = topics.map((topic) => events.on(topic, (e) => write(formatEvent(topic, e))));
  return () => offs.forEach((off) => off());
}
