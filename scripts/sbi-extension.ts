/**
 * A guest-visible SBI extension implemented in TypeScript: an ecall hook
 * answers the guest's calls to extension 0x08525653 (in the SBI experimental
 * range) before the guest's own firmware sees them, and answers
 * sbi_probe_extension for it. guests/sbi/hello.S probes the extension, reads
 * its version and asks it to add two numbers; without this hook its firmware
 * answers "not supported".
 *
 *   deno task guests && deno run -A scripts/sbi-extension.ts [image] [--bare]
 *   deno run -A boot.ts --kernel guests/sbi/build/hello.elf --script scripts/sbi-extension.ts
 *
 * @module
 */

import type { Machine, SbiResult } from "../mod.ts";
import { parseScriptArgs, scriptMachine } from "./script-main.ts";

/** The extension's id: "RVS" in the experimental range 0x0800_0000..0x08FF_FFFF. */
export const EXT_EID = 0x08525653;
/** The version it reports. */
export const EXT_VERSION = 0x10002n;
const BASE_EID = 0x10, PROBE_EXTENSION = 3;
const SBI_SUCCESS = 0, SBI_ERR_NOT_SUPPORTED = -2;

/** Installs the extension; returns a counter of the calls it answered. */
export function installExtension(machine: Machine): { calls: number } {
  const stats = { calls: 0 };
  machine.hookEcall((call): SbiResult | undefined => {
    if (call.eid === BASE_EID) {
      // Discovery: answer only for our extension; the firmware answers the rest.
      if (call.fid !== PROBE_EXTENSION || call.args[0] !== BigInt(EXT_EID)) return undefined;
      stats.calls++;
      return { error: SBI_SUCCESS, value: 1 };
    }
    stats.calls++;
    console.log(`sbi-extension: call fid ${call.fid} from pc 0x${call.pc.toString(16)}`);
    switch (call.fid) {
      case 0:
        return { error: SBI_SUCCESS, value: EXT_VERSION };
      case 1:
        return { error: SBI_SUCCESS, value: BigInt.asIntN(64, call.args[0] + call.args[1]) };
      default:
        return { error: SBI_ERR_NOT_SUPPORTED };
    }
  }, [BASE_EID, EXT_EID]);
  return stats;
}

/** For `boot.ts --script`. */
export default function (machine: Machine): void {
  installExtension(machine);
}

if (import.meta.main) {
  const args = parseScriptArgs(Deno.args);
  const image = new URL("../guests/sbi/build/hello.elf", import.meta.url).pathname;
  const machine = scriptMachine(args, image);
  machine.stdout.pipeTo(Deno.stdout.writable, { preventClose: true });
  const stats = installExtension(machine);
  const r = await machine.run({ maxInstructions: 10_000_000 });
  await new Promise((resolve) => setTimeout(resolve, 0)); // let the console stream drain
  console.log(`sbi-extension: ${stats.calls} calls answered; guest exit code ${r.exitCode}`);
  Deno.exit(r.exitCode);
}
