/**
 * Builds guests/tinyos, the project's default guest OS, into one ELF:
 * each user program (guests/tinyos/user) is linked at its own address and
 * turned into a flat binary, and the kernel (guests/tinyos/kernel) embeds
 * them with `.incbin`.
 *
 * The build is reproducible byte for byte: gcc runs inside guests/tinyos
 * with relative source paths, without debug information or a build id, so
 * neither the checkout's location nor the work directory reaches the image.
 * The image is committed; tests/tinyos_test.ts rebuilds it and compares.
 *
 * Usage: `deno run -A scripts/build-tinyos.ts [OUTPUT]` (default
 * guests/tinyos/tinyos.elf); `deno task guests` calls it when stale.
 *
 * @module
 */

/** The tinyos source directory (absolute, with a trailing slash). */
export const TINYOS_DIR = new URL("../guests/tinyos/", import.meta.url).pathname;
/** The committed image. */
export const TINYOS_ELF = `${TINYOS_DIR}tinyos.elf`;

const CC = "riscv64-unknown-elf-gcc";
const OBJCOPY = "riscv64-unknown-elf-objcopy";

const FLAGS = [
  "-march=rv64imac_zicsr_zifencei",
  "-mabi=lp64",
  "-mcmodel=medany",
  "-O2",
  "-Wall",
  "-ffreestanding",
  // Keeps gcc from turning lib.c's memset/memcpy loops into calls to themselves.
  "-fno-tree-loop-distribute-patterns",
  "-nostdlib",
  "-static",
  "-Wl,--build-id=none",
  "-Wl,--no-warn-rwx-segments",
];

/** The user programs: each is user/NAME.c plus the user runtime. */
const PROGRAMS = ["sh", "ticker"];
const USER_RUNTIME = ["user/ustart.S", "user/usys.S", "user/printf.c", "lib/lib.c"];

function sourcesIn(dir: string): string[] {
  return [...Deno.readDirSync(`${TINYOS_DIR}${dir}`)]
    .filter((e) => e.isFile && /\.[cShld]+$/.test(e.name))
    .map((e) => `${dir}/${e.name}`)
    .sort();
}

async function run(cmd: string, args: string[]): Promise<void> {
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(cmd, { args, cwd: TINYOS_DIR }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `${cmd} not found: install it with 'apt-get install gcc-riscv64-unknown-elf'`,
      );
    }
    throw e;
  }
  const stderr = new TextDecoder().decode(result.stderr);
  if (!result.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${stderr}`);
  if (stderr.trim()) throw new Error(`${cmd} warned (tinyos builds without warnings):\n${stderr}`);
}

/**
 * Builds tinyos into `output`, with intermediate files in `workDir`.
 * Both default to the usual places (guests/tinyos/tinyos.elf and guests/tinyos/build/).
 */
export async function buildTinyos(
  output = TINYOS_ELF,
  workDir = `${TINYOS_DIR}build`,
): Promise<void> {
  Deno.mkdirSync(workDir, { recursive: true });
  for (const name of PROGRAMS) {
    const elf = `${workDir}/${name}.elf`;
    await run(CC, [
      ...FLAGS,
      "-Tuser/user.ld",
      "-o",
      elf,
      ...USER_RUNTIME,
      `user/${name}.c`,
    ]);
    await run(OBJCOPY, ["-O", "binary", elf, `${workDir}/${name}.bin`]);
  }
  const kernel = sourcesIn("kernel").filter((f) => /\.[cS]$/.test(f));
  await run(CC, [
    ...FLAGS,
    `-Wa,-I${workDir}`,
    "-Tkernel/kernel.ld",
    "-o",
    output,
    ...kernel,
    "lib/lib.c",
  ]);
}

/** True if any tinyos source (or this script) is newer than the image. */
export function tinyosStale(output = TINYOS_ELF): boolean {
  const mtime = (p: string) => Deno.statSync(p).mtime?.getTime() ?? 0;
  let out: number;
  try {
    out = mtime(output);
  } catch {
    return true;
  }
  const inputs = ["kernel", "user", "lib"].flatMap(sourcesIn).map((f) => `${TINYOS_DIR}${f}`);
  inputs.push(new URL(import.meta.url).pathname);
  return inputs.some((f) => mtime(f) > out);
}

if (import.meta.main) {
  try {
    await buildTinyos(Deno.args[0]);
  } catch (e) {
    console.error(`build-tinyos: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
