/**
 * Run-time checks of the script facade's arguments (hypervisor/machine.ts).
 * Scripts are often plain JavaScript, so a wrong argument must fail where it
 * is passed, with a message that names the function, the argument and what
 * it expects, rather than as a TypeError deep inside the machine.
 *
 * Each check throws TypeError for a value of the wrong type and RangeError
 * for one of the right type outside what the argument allows.
 *
 * @module
 */

/** A short description of `v` for messages: its value if short, else its kind. */
export function describe(v: unknown): string {
  if (v === null || v === undefined || typeof v === "boolean") return String(v);
  if (typeof v === "number") return String(v);
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return v.length <= 40 ? JSON.stringify(v) : "a long string";
  if (typeof v === "function") return "a function";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "a Uint8Array";
  return `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
}

/** Throws the facade's error for argument `name` of `where`: it must be `expected`. */
export function fail(
  where: string,
  name: string,
  expected: string,
  v: unknown,
  range = false,
): never {
  const message = `${where}: ${name} must be ${expected}, not ${describe(v)}`;
  throw range ? new RangeError(message) : new TypeError(message);
}

/** `v` as a plain object (not null, not an array). */
export function checkObject(where: string, name: string, v: unknown): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    fail(where, name, "an object", v);
  }
  return v as Record<string, unknown>;
}

/** Refuses fields of `obj` not in `allowed`, so that a typo does not pass silently. */
export function checkFields(
  where: string,
  name: string,
  obj: Record<string, unknown>,
  allowed: readonly string[],
): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new TypeError(
        `${where}: unknown ${name} field '${key}' (it has: ${allowed.join(", ")})`,
      );
    }
  }
}

/** `v` as a safe integer in `[min, max]`. */
export function checkInteger(
  where: string,
  name: string,
  v: unknown,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const what = min === 0
    ? "a non-negative integer"
    : min === 1
    ? "a positive integer"
    : "an integer";
  const bounds = max < Number.MAX_SAFE_INTEGER ? `${what} up to ${max}` : what;
  if (typeof v !== "number") fail(where, name, bounds, v);
  if (!Number.isSafeInteger(v) || v < min || v > max) fail(where, name, bounds, v, true);
  return v;
}

/** `v` as a number of at least 0, Infinity allowed (limits). */
export function checkLimit(where: string, name: string, v: unknown): number {
  if (typeof v !== "number") fail(where, name, "a number of at least 0", v);
  if (!(v >= 0)) fail(where, name, "a number of at least 0", v, true);
  return v;
}

/** `v` as one of `values` (strings or numbers). */
export function checkOneOf<T extends string | number>(
  where: string,
  name: string,
  v: unknown,
  values: readonly T[],
): T {
  if (!values.includes(v as T)) {
    const list = values.map((x) => typeof x === "string" ? `'${x}'` : String(x)).join(", ");
    fail(where, name, `one of ${list}`, v, typeof v === typeof values[0]);
  }
  return v as T;
}

const TYPES = {
  string: (v: unknown) => typeof v === "string",
  boolean: (v: unknown) => typeof v === "boolean",
  function: (v: unknown) => typeof v === "function",
} as const;

/** `v` as a value of JavaScript type `type`. */
export function checkType<T>(where: string, name: string, v: unknown, type: keyof typeof TYPES): T {
  if (!TYPES[type](v)) fail(where, name, type === "function" ? "a function" : `a ${type}`, v);
  return v as T;
}

/** `v` as a Uint8Array. */
export function checkBytes(where: string, name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(where, name, "a Uint8Array", v);
  return v;
}

/** `v` as a bigint or a safe integer number (register and CSR values). */
export function checkValue(where: string, name: string, v: unknown): bigint | number {
  if (typeof v === "bigint") return v;
  return checkInteger(where, name, v);
}

/** `v` as one value or a list of values, each checked by `check`. */
export function checkOneOrMany<T>(
  where: string,
  name: string,
  v: unknown,
  check: (where: string, name: string, x: unknown) => T,
): T[] {
  return Array.isArray(v)
    ? v.map((x, i) => check(where, `${name}[${i}]`, x))
    : [check(where, name, v)];
}

/** `v` as an address range: one address or `[start, end)` with start < end. */
export function checkRange(where: string, name: string, v: unknown): [number, number] {
  if (typeof v === "number") {
    const a = checkInteger(where, name, v);
    return [a, a + 1];
  }
  if (!Array.isArray(v) || v.length !== 2) fail(where, name, "an address or [start, end)", v);
  const lo = checkInteger(where, `${name}[0]`, v[0]), hi = checkInteger(where, `${name}[1]`, v[1]);
  if (hi <= lo) fail(where, name, "an address or [start, end) with start < end", v, true);
  return [lo, hi];
}

/** `v` as an image: `{ name: string, bytes: Uint8Array }`. */
export function checkImage(where: string, name: string, v: unknown): void {
  const expected = "{ name: string, bytes: Uint8Array }";
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(where, name, expected, v);
  const image = v as { name?: unknown; bytes?: unknown };
  if (typeof image.name !== "string") fail(where, `${name}.name`, "a string", image.name);
  if (!(image.bytes instanceof Uint8Array)) {
    fail(where, `${name}.bytes`, "a Uint8Array", image.bytes);
  }
}
