/**
 * Fetches Debian's riscv64 Linux kernel and busybox and builds a bootable
 * initramfs for rvisor (and QEMU):
 *
 * 1. `dists/SUITE/InRelease` (signature checked with gpgv against Debian's
 *    archive keyring when gpgv is installed) gives the SHA256 of
 *    `main/binary-riscv64/Packages.xz`; the index is checked against it.
 * 2. From the index: `linux-image-riscv64` (the meta-package) is resolved
 *    through its Depends to the real `linux-image-6.12.*-riscv64` package, and
 *    `busybox-static` is looked up; each .deb's size and SHA256 are checked.
 * 3. From the .debs: `boot/vmlinux-*` (a raw RISC-V Image) and the kernel
 *    modules the guest needs (virtio-mmio, virtio-blk; ext4 and its
 *    dependencies for mounting ext2/ext4 disks) are extracted, and a newc
 *    initramfs is written with busybox, the modules (decompressed, in
 *    /lib/modules/VERSION with a modules.dep for `modprobe`) and an /init
 *    that loads the virtio modules, prints {@linkcode INIT_MARKER} and starts
 *    a shell on the console.
 *
 * Everything is cached in a directory (default ~/.cache/rvisor/linux): a
 * re-run with the same cache finds its manifest and does nothing. The .debs
 * stay in the cache so a new initramfs recipe needs no download.
 *
 * Usage: `deno run -A scripts/fetch-linux.ts [--cache DIR] [--mirror URL]
 * [--suite NAME] [--force]`. Errors are one line naming the package (or
 * file) and the problem, with a non-zero exit.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type CpioEntry, newcArchive } from "./cpio.ts";
import { exists, hasCommand, OPENSBI_FW_JUMP } from "./host-tools.ts";

/** Line /init prints once the modules are loaded, just before the shell starts. */
export const INIT_MARKER = "rvisor-linux: init ready";

/**
 * RTC start-up time (ms since the Unix epoch) for Linux runs that must repeat:
 * Linux mixes the RTC's time into its randomness (ASLR, hash seeds), so with
 * the virtual clock and this base, every boot of the same images is the same
 * instruction for instruction. QEMU's `-rtc base=2026-01-01`.
 */
export const REPRODUCIBLE_RTC_BASE = Date.UTC(2026, 0, 1);

/** Where apt keeps its sources: the mirror comes from there, as apt itself would use it. */
const APT_SOURCES = ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"];

/**
 * The Debian mirror apt is configured with on this machine: the first `URIs:`
 * of a deb822 sources file, or the first `deb URL` line of sources.list, that
 * serves Debian's main archive (not the security one). Throws FetchError when
 * none is configured (pass --mirror then).
 */
export function defaultMirror(sources: string[] = APT_SOURCES): string {
  for (const path of sources) {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      continue;
    }
    const urls = [
      ...text.matchAll(/^URIs:\s*(\S+)/gm),
      ...text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm),
    ].map((m) => m[1]).filter((u) => /^https?:/.test(u) && !/security/.test(u));
    if (urls.length > 0) return urls[0];
  }
  throw new FetchError("apt sources", "no Debian mirror configured for apt; pass --mirror URL");
}
/** The first Debian release with riscv64 as an official architecture. */
export const DEFAULT_SUITE = "trixie";
const ARCH = "riscv64";
const INDEX_PATH = `main/binary-${ARCH}/Packages.xz`;
const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";
const KERNEL_META = "linux-image-riscv64";
const BUSYBOX = "busybox-static";
/**
 * Bumped whenever the initramfs recipe (init script, module list, layout)
 * changes, so a cache built by an older script is rebuilt (from its .debs).
 */
export const RECIPE = 2;

/**
 * Modules /init loads, each with what it needs first, found from the
 * modules' own `depends=` fields. virtio, virtio_ring and crc32 are built
 * into Debian's kernel; virtio_mmio and virtio_blk are modules.
 */
const BOOT_MODULES = ["virtio_mmio", "virtio_blk"];
/**
 * Modules put in the initramfs for `modprobe ext4` (mounting ext2/ext4
 * disks) but not loaded at boot: loading them costs boot time every test
 * run needs not pay. crc32c_generic is ext4's and jbd2's soft dependency.
 */
const EXTRA_MODULES = ["crc32c_generic", "ext4"];

/** A failure reported as one line; `subject` is the package or file it concerns. */
export class FetchError extends Error {
  /** The error's name. */
  override name = "FetchError";
  /** The package or file concerned (the message starts with it). */
  readonly subject: string;
  /** Builds the message `subject: problem`. */
  constructor(subject: string, problem: string) {
    super(`${subject}: ${problem}`);
    this.subject = subject;
  }
}

/** Paths of a built Linux guest in the cache. */
export interface LinuxImages {
  /** The cache directory. */
  dir: string;
  /** The raw RISC-V kernel Image (Debian's boot/vmlinux-*). */
  kernel: string;
  /** The newc initramfs. */
  initrd: string;
  /** Kernel release, e.g. 6.12.107+deb13-riscv64. */
  release: string;
  /** What was fetched: package name -> version. */
  packages: Record<string, string>;
}

/** The cache manifest: what a previous run built. */
interface Manifest {
  recipe: number;
  /** Cache-relative file names (so the cache can be moved). */
  kernel: string;
  initrd: string;
  release: string;
  packages: Record<string, string>;
  /** Cache-relative names of the .debs, for rebuilding without a download. */
  debs: Record<string, { file: string; version: string }>;
}

/** The default cache directory: $XDG_CACHE_HOME/rvisor/linux or ~/.cache/rvisor/linux. */
export function defaultCacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME") ?? ".";
  return `${xdg || `${home}/.cache`}/rvisor/linux`;
}

/**
 * The images a previous run left in `dir`, or null when there are none (or
 * they were built by an older recipe or are missing). Never touches the network.
 */
export function cachedLinux(dir: string = defaultCacheDir()): LinuxImages | null {
  const m = readManifest(dir);
  if (!m || m.recipe !== RECIPE) return null;
  const kernel = `${dir}/${m.kernel}`, initrd = `${dir}/${m.initrd}`;
  if (!exists(kernel) || !exists(initrd)) return null;
  return { dir, kernel, initrd, release: m.release, packages: m.packages };
}

/**
 * The images for a test: from the cache; with RVISOR_LINUX=1 fetched (or the
 * error that fetching ended with); otherwise why the test is left out.
 */
export async function linuxForTests(): Promise<LinuxImages | string | Error> {
  const cached = cachedLinux();
  if (cached) return cached;
  if (Deno.env.get("RVISOR_LINUX") !== "1") {
    return "no images in the cache: run scripts/fetch-linux.ts or set RVISOR_LINUX=1";
  }
  try {
    return await fetchLinux({ log: (line) => console.error(`fetch-linux: ${line}`) });
  } catch (e) {
    return e as Error;
  }
}

/** Options of {@linkcode fetchLinux}. */
export interface FetchOptions {
  /** Cache directory (default {@linkcode defaultCacheDir}). */
  cache?: string;
  /** Debian mirror URL (default: apt's, {@linkcode defaultMirror}). */
  mirror?: string;
  /** Suite (default {@linkcode DEFAULT_SUITE}). */
  suite?: string;
  /** Rebuild and re-download even when the cache is complete. */
  force?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/**
 * Makes sure the cache holds the kernel Image and initramfs and returns their
 * paths: from the cache when complete, else from cached .debs, else from the
 * mirror. Throws {@linkcode FetchError} with a one-line message.
 */
export async function fetchLinux(options: FetchOptions = {}): Promise<LinuxImages> {
  const dir = options.cache ?? defaultCacheDir();
  const mirror = (options.mirror ?? defaultMirror()).replace(/\/+$/, "");
  const suite = options.suite ?? DEFAULT_SUITE;
  const log = options.log ?? (() => {});
  if (!options.force) {
    const ready = cachedLinux(dir);
    if (ready) return ready;
  }
  Deno.mkdirSync(`${dir}/debs`, { recursive: true });
  // Test files run in parallel may fetch at once: one fetches, the others
  // wait here and then find the cache complete.
  using lock = await Deno.open(`${dir}/.lock`, { create: true, write: true });
  await lock.lock(true);
  if (!options.force) {
    const ready = cachedLinux(dir);
    if (ready) return ready;
  }

  // The .debs of a previous run are reused when the recipe changed (no download).
  const old = options.force ? null : readManifest(dir);
  let debs: Manifest["debs"];
  if (old && Object.values(old.debs).every((d) => exists(`${dir}/${d.file}`))) {
    log("using the cached .debs");
    debs = old.debs;
  } else {
    debs = await downloadDebs(dir, mirror, suite, log);
  }

  const kernelDeb = Object.entries(debs).find(([name]) => name !== BUSYBOX);
  if (!kernelDeb) throw new FetchError(KERNEL_META, "no kernel package in the cache");
  const [kernelPkg, kdeb] = kernelDeb;
  const tmp = Deno.makeTempDirSync({ dir, prefix: "extract-" });
  try {
    log(`extracting ${kernelPkg}`);
    await extractDeb(kernelPkg, `${dir}/${kdeb.file}`, tmp, [
      "./boot/vmlinux-*",
      "./usr/lib/modules/*/kernel/drivers/virtio/*",
      "./usr/lib/modules/*/kernel/drivers/block/virtio_blk.ko*",
      "./usr/lib/modules/*/kernel/fs/*",
      "./usr/lib/modules/*/kernel/lib/*",
      "./usr/lib/modules/*/kernel/crypto/*",
    ]);
    log(`extracting ${BUSYBOX}`);
    await extractDeb(BUSYBOX, `${dir}/${debs[BUSYBOX].file}`, tmp, ["./usr/bin/busybox"]);

    const vmlinux = [...Deno.readDirSync(`${tmp}/boot`)].find((e) => e.name.startsWith("vmlinux-"));
    if (!vmlinux) throw new FetchError(kernelPkg, "no boot/vmlinux-* in the package");
    const release = vmlinux.name.slice("vmlinux-".length);
    const kernel = `${dir}/Image-${release}`;
    Deno.renameSync(`${tmp}/boot/${vmlinux.name}`, kernel);

    const modules = await collectModules(kernelPkg, `${tmp}/usr/lib/modules/${release}`);
    const busybox = Deno.readFileSync(`${tmp}/usr/bin/busybox`);
    const initrd = `${dir}/initrd.cpio`;
    Deno.writeFileSync(initrd, newcArchive(initramfsEntries(release, busybox, modules)));

    const packages = Object.fromEntries(Object.entries(debs).map(([n, d]) => [n, d.version]));
    const manifest: Manifest = {
      recipe: RECIPE,
      kernel: kernel.slice(dir.length + 1),
      initrd: initrd.slice(dir.length + 1),
      release,
      packages,
      debs,
    };
    Deno.writeTextFileSync(`${dir}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
    return { dir, kernel, initrd, release, packages };
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
}

/** Verifies the index and downloads and checks the two .debs into DIR/debs. */
async function downloadDebs(
  dir: string,
  mirror: string,
  suite: string,
  log: (line: string) => void,
): Promise<Manifest["debs"]> {
  const index = await verifiedIndex(mirror, suite, log);
  const meta = index.get(KERNEL_META);
  if (!meta) throw new FetchError(KERNEL_META, `not in ${suite}'s ${ARCH} index`);
  // The meta-package depends on exactly one versioned image package (the -dbg one is a Suggests).
  const real = dependencyNames(meta.Depends ?? "").find((n) =>
    /^linux-image-\d[^ ]*-riscv64$/.test(n)
  );
  if (!real) {
    throw new FetchError(KERNEL_META, `no linux-image-*-riscv64 in its Depends (${meta.Depends})`);
  }
  const debs: Manifest["debs"] = {};
  for (const name of [real, BUSYBOX]) {
    const pkg = index.get(name);
    if (!pkg) throw new FetchError(name, `not in ${suite}'s ${ARCH} index`);
    if (!pkg.Filename || !pkg.SHA256 || !pkg.Size) {
      throw new FetchError(name, "index entry lacks Filename, Size or SHA256");
    }
    const file = `debs/${pkg.Filename.split("/").pop()}`;
    const path = `${dir}/${file}`;
    if (exists(path) && await sha256File(path) === pkg.SHA256) {
      log(`${name} ${pkg.Version}: cached`);
    } else {
      const t0 = performance.now();
      const bytes = await download(name, `${mirror}/${pkg.Filename}`);
      if (bytes.length !== Number(pkg.Size)) {
        throw new FetchError(name, `size ${bytes.length} does not match the index (${pkg.Size})`);
      }
      const sum = await sha256(bytes);
      if (sum !== pkg.SHA256) {
        throw new FetchError(name, `SHA256 ${sum} does not match the index (${pkg.SHA256})`);
      }
      Deno.writeFileSync(`${path}.part`, bytes);
      Deno.renameSync(`${path}.part`, path);
      const s = (performance.now() - t0) / 1000;
      log(`${name} ${pkg.Version}: ${(bytes.length / 1e6).toFixed(1)} MB in ${s.toFixed(1)} s`);
    }
    debs[name] = { file, version: pkg.Version ?? "?" };
  }
  return debs;
}

/** One stanza of a Packages index: field name -> value. */
type Stanza = Record<string, string>;

/**
 * Downloads Packages.xz and checks it against a signed release file of the
 * suite; returns the index by package name.
 *
 * The release file tried first is dists/SUITE/InRelease; when the mirror is
 * mid-sync the index may not match it yet, so the index is then fetched
 * by-hash (as apt does) and, failing that, checked against the InRelease of
 * the `stable` and `oldstable` aliases when their Codename is SUITE: a mirror
 * can serve the index of the previous point release, which is still signed
 * data of the same suite.
 */
async function verifiedIndex(
  mirror: string,
  suite: string,
  log: (line: string) => void,
): Promise<Map<string, Stanza>> {
  const subject = `${suite} ${INDEX_PATH}`;
  const release = await signedRelease(mirror, suite, suite);
  const listed = release.sha256.get(INDEX_PATH);
  if (!listed) throw new FetchError(subject, `not listed in dists/${suite}/InRelease`);
  let xz = await download(subject, `${mirror}/dists/${suite}/${INDEX_PATH}`);
  let sum = await sha256(xz);
  let how = `dists/${suite}/InRelease`;
  if (sum !== listed) {
    const byHash = `${mirror}/dists/${suite}/main/binary-${ARCH}/by-hash/SHA256/${listed}`;
    const fromHash = await download(subject, byHash, true);
    if (fromHash && await sha256(fromHash) === listed) {
      xz = fromHash;
      sum = listed;
      how += " (by-hash)";
    } else {
      for (const alias of ["stable", "oldstable"]) {
        const other = await signedRelease(mirror, alias, suite).catch(() => null);
        if (other?.sha256.get(INDEX_PATH) === sum) {
          how = `dists/${alias}/InRelease (Codename ${suite}, ${other.date})`;
          break;
        }
      }
      if (!how.startsWith("dists/stable") && !how.startsWith("dists/oldstable")) {
        throw new FetchError(
          subject,
          `SHA256 ${sum} does not match InRelease (${listed}); the mirror may be syncing`,
        );
      }
    }
  }
  log(`index ${INDEX_PATH}: SHA256 ${sum.slice(0, 16)}... matches ${how}${release.checked}`);
  const text = await xzDecompress(subject, xz);
  const index = new Map<string, Stanza>();
  for (const block of text.split("\n\n")) {
    const stanza = parseStanza(block);
    // A suite lists one version of a package per architecture; keep the first.
    if (stanza.Package && !index.has(stanza.Package)) index.set(stanza.Package, stanza);
  }
  return index;
}

/** A release file's SHA256 list and how (whether) its signature was checked. */
interface Release {
  sha256: Map<string, string>;
  date: string;
  checked: string;
}

/**
 * Fetches dists/NAME/InRelease; with gpgv and Debian's keyring installed, its
 * signature is checked and only the signed text is used. The Codename must be
 * `codename`.
 */
async function signedRelease(mirror: string, name: string, codename: string): Promise<Release> {
  const subject = `dists/${name}/InRelease`;
  const bytes = await download(subject, `${mirror}/dists/${name}/InRelease`);
  let text: string;
  let checked: string;
  if (exists(KEYRING) && hasCommand("gpgv")) {
    // gpgv --output writes only the signed data, so nothing unsigned can slip in.
    const out = await runTool(subject, "gpgv", ["--keyring", KEYRING, "--output", "-", "-"], bytes);
    text = new TextDecoder().decode(out);
    checked = ", signature good (gpgv, debian-archive-keyring)";
  } else {
    // The clear-signed text sits between the armor header's blank line and the signature.
    const armored = new TextDecoder().decode(bytes);
    const start = armored.indexOf("\n\n");
    const end = armored.indexOf("\n-----BEGIN PGP SIGNATURE-----");
    text = armored.slice(start < 0 ? 0 : start + 2, end < 0 ? undefined : end);
    checked = ", signature NOT checked (no gpgv or keyring)";
  }
  const fields = parseStanza(text);
  if (fields.Codename !== codename) {
    throw new FetchError(subject, `Codename ${fields.Codename} is not ${codename}`);
  }
  const sha256 = new Map<string, string>();
  for (const line of (fields.SHA256 ?? "").split("\n")) {
    const [sum, , path] = line.trim().split(/\s+/);
    if (path) sha256.set(path, sum);
  }
  return { sha256, date: fields.Date ?? "?", checked };
}

/** Parses a deb822 paragraph; continuation lines are joined with "\n". */
function parseStanza(block: string): Stanza {
  const out: Stanza = {};
  let key = "";
  for (const line of block.split("\n")) {
    if (/^\s/.test(line) && key) {
      out[key] += "\n" + line.trim();
    } else {
      const m = /^([\w.-]+):\s*(.*)$/.exec(line);
      if (m) {
        key = m[1];
        out[key] = m[2];
      }
    }
  }
  return out;
}

/** Names in a Depends field: the first alternative of each, without versions. */
function dependencyNames(depends: string): string[] {
  return depends.split(",").map((d) => d.split("|")[0].trim().split(/[\s(:]/)[0]).filter(Boolean);
}

/** A module: its name, its uncompressed bytes and its path under /lib/modules/RELEASE. */
interface Module {
  name: string;
  path: string;
  data: Uint8Array;
  depends: string[];
}

/**
 * Decompresses the modules named in BOOT_MODULES and EXTRA_MODULES and
 * everything they depend on (read from each module's .modinfo `depends=`),
 * returned in load order (dependencies first).
 */
async function collectModules(kernelPkg: string, root: string): Promise<Module[]> {
  const byName = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) walk(`${dir}/${e.name}`);
      else if (e.name.endsWith(".ko.xz")) {
        // Module names use underscores where file names may use dashes.
        byName.set(e.name.slice(0, -6).replaceAll("-", "_"), `${dir}/${e.name}`);
      }
    }
  };
  walk(`${root}/kernel`);
  const ordered: Module[] = [];
  const seen = new Set<string>();
  const visit = async (name: string, chain: string[]) => {
    if (seen.has(name)) return;
    if (chain.includes(name)) throw new FetchError(kernelPkg, `module loop ${chain.join(" -> ")}`);
    const file = byName.get(name);
    if (!file) throw new FetchError(kernelPkg, `module ${name} not found in the package`);
    const data = await xzDecompressBytes(kernelPkg, Deno.readFileSync(file));
    const depends = modinfo(data, "depends")?.split(",").filter(Boolean) ?? [];
    for (const d of depends) await visit(d.replaceAll("-", "_"), [...chain, name]);
    seen.add(name);
    const path = file.slice(root.length + 1, -3); // kernel/..../x.ko
    ordered.push({ name, path, data, depends });
  };
  for (const m of [...BOOT_MODULES, ...EXTRA_MODULES]) await visit(m, []);
  return ordered;
}

/** A `key=value` string of a module's .modinfo section (NUL-separated), or undefined. */
function modinfo(ko: Uint8Array, key: string): string | undefined {
  const needle = new TextEncoder().encode(`\0${key}=`);
  outer: for (let i = 0; i + needle.length <= ko.length; i++) {
    for (let j = 0; j < needle.length; j++) if (ko[i + j] !== needle[j]) continue outer;
    let end = i + needle.length;
    while (end < ko.length && ko[end] !== 0) end++;
    return new TextDecoder().decode(ko.subarray(i + needle.length, end));
  }
  return undefined;
}

/** The /init script: runs as PID 1 with busybox's sh. */
function initScript(release: string, modules: Module[]): string {
  const boot = modules.filter((m) =>
    BOOT_MODULES.includes(m.name) ||
    modules.some((o) => BOOT_MODULES.includes(o.name) && o.depends.includes(m.name))
  );
  return `#!/bin/busybox sh
# rvisor's initramfs init (scripts/fetch-linux.ts): mounts the kernel file
# systems, loads the virtio modules (dependencies first), starts a shell.
/bin/busybox mount -t proc proc /proc
# Applet links need /proc/self/exe; they make every busybox command a plain name.
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
${boot.map((m) => `insmod /lib/modules/${release}/${m.path}`).join("\n")}
echo "${INIT_MARKER}"
cd /root
# cttyhack gives the shell the console as its controlling terminal (so job
# control and Ctrl-C work); without it, a plain sh.
command -v cttyhack >/dev/null && exec setsid cttyhack sh
exec sh
`;
}

/** The initramfs: directories, device nodes, busybox, modules, /init. */
function initramfsEntries(release: string, busybox: Uint8Array, modules: Module[]): CpioEntry[] {
  const enc = new TextEncoder();
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const dir = (path: string) => {
    const parts = path.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      if (!dirs.has(p)) {
        dirs.add(p);
        entries.push({ type: "dir", path: p });
      }
    }
  };
  for (const d of ["bin", "dev", "proc", "sys", "tmp", "root", "mnt", "etc"]) dir(d);
  // The kernel opens /dev/console for init before anything mounts devtmpfs.
  entries.push({ type: "char", path: "dev/console", major: 5, minor: 1 });
  entries.push({ type: "char", path: "dev/null", major: 1, minor: 3, mode: 0o666 });
  entries.push({ type: "file", path: "bin/busybox", data: busybox, mode: 0o755 });
  entries.push({ type: "symlink", path: "bin/sh", target: "busybox" });
  const modDir = `lib/modules/${release}`;
  for (const m of modules) {
    dir(`${modDir}/${m.path.slice(0, m.path.lastIndexOf("/"))}`);
    entries.push({ type: "file", path: `${modDir}/${m.path}`, data: m.data });
  }
  // modules.dep in depmod's format, so busybox modprobe can load EXTRA_MODULES.
  const pathOf = new Map(modules.map((m) => [m.name, m.path]));
  const dep = modules.map((m) =>
    `${m.path}:${m.depends.map((d) => ` ${pathOf.get(d.replaceAll("-", "_"))}`).join("")}\n`
  ).join("");
  entries.push({ type: "file", path: `${modDir}/modules.dep`, data: enc.encode(dep) });
  entries.push({
    type: "file",
    path: "etc/passwd",
    data: enc.encode("root::0:0:root:/root:/bin/sh\n"),
  });
  entries.push({
    type: "file",
    path: "init",
    data: enc.encode(initScript(release, modules)),
    mode: 0o755,
  });
  return entries;
}

// ---- platform helpers ----

function readManifest(dir: string): Manifest | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`${dir}/manifest.json`)) as Manifest;
  } catch {
    return null;
  }
}

/** GETs `url`; with `optional`, a 404 gives null instead of an error. */
async function download(subject: string, url: string, optional: true): Promise<Uint8Array | null>;
async function download(subject: string, url: string, optional?: false): Promise<Uint8Array>;
async function download(
  subject: string,
  url: string,
  optional = false,
): Promise<Uint8Array | null> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new FetchError(subject, `cannot reach ${url}: ${(e as Error).message.split("\n")[0]}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    if (optional && res.status === 404) return null;
    throw new FetchError(subject, `HTTP ${res.status} ${res.statusText} for ${url}`);
  }
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new FetchError(subject, `download of ${url} failed: ${(e as Error).message}`);
  }
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256File(path: string): Promise<string> {
  return await sha256(Deno.readFileSync(path));
}

/** Runs a tool with `input` on stdin; its stdout, or a FetchError with its stderr's first line. */
async function runTool(
  subject: string,
  cmd: string,
  args: string[],
  input?: Uint8Array,
): Promise<Uint8Array> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      stdin: input ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new FetchError(subject, `cannot run ${cmd}: ${(e as Error).message}`);
  }
  if (input) {
    const w = child.stdin.getWriter();
    // Written concurrently with reading stdout, so a large input cannot deadlock on pipe buffers.
    w.write(input).then(() => w.close()).catch(() => {});
  }
  const out = await child.output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    throw new FetchError(subject, `${cmd} failed: ${why || `exit ${out.code}`}`);
  }
  return out.stdout;
}

async function xzDecompressBytes(subject: string, xz: Uint8Array): Promise<Uint8Array> {
  return await runTool(subject, "xz", ["-dc"], xz);
}

async function xzDecompress(subject: string, xz: Uint8Array): Promise<string> {
  return new TextDecoder().decode(await xzDecompressBytes(subject, xz));
}

/** Extracts the members matching `patterns` of a .deb's data into `dest` (dpkg-deb | tar). */
async function extractDeb(
  subject: string,
  deb: string,
  dest: string,
  patterns: string[],
): Promise<void> {
  let dpkg: Deno.ChildProcess, tar: Deno.ChildProcess;
  try {
    dpkg = new Deno.Command("dpkg-deb", {
      args: ["--fsys-tarfile", deb],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    tar = new Deno.Command("tar", {
      args: ["-x", "-C", dest, "--wildcards", ...patterns],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new FetchError(subject, `cannot run dpkg-deb/tar: ${(e as Error).message}`);
  }
  // dpkg-deb's stdout feeds tar; its stderr is read alongside (for the error message).
  const piping = dpkg.stdout.pipeTo(tar.stdin).catch(() => {});
  const dpkgErr = new Response(dpkg.stderr).text();
  const [d, t] = await Promise.all([dpkg.status, tar.output()]);
  await piping;
  const why = (stderr: string, code: number) => stderr.trim().split("\n").pop() || `exit ${code}`;
  if (!d.success) throw new FetchError(subject, `dpkg-deb failed: ${why(await dpkgErr, d.code)}`);
  await dpkgErr;
  const tarErr = new TextDecoder().decode(t.stderr);
  if (!t.success) throw new FetchError(subject, `tar failed: ${why(tarErr, t.code)}`);
}

/** The command that boots the images on rvisor (bare; drop --no-hypervisor for the hypervisor). */
export function bootCommand(images: LinuxImages): string {
  return [
    "deno run -A boot.ts --mem 256M",
    `--bios ${OPENSBI_FW_JUMP}`,
    `--kernel ${images.kernel} --initrd ${images.initrd}`,
    `--append "console=ttyS0 earlycon=sbi no4lvl"`,
  ].join(" \\\n  ");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cache: { type: "string" },
      mirror: { type: "string" },
      suite: { type: "string" },
      force: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno run -A scripts/fetch-linux.ts [--cache DIR] [--mirror URL] [--suite NAME] [--force]",
    );
    Deno.exit(0);
  }
  const t0 = performance.now();
  try {
    const images = await fetchLinux({
      cache: values.cache,
      mirror: values.mirror,
      suite: values.suite,
      force: values.force,
      log: (line) => console.error(`fetch-linux: ${line}`),
    });
    console.log(`kernel   ${images.kernel}`);
    console.log(`initrd   ${images.initrd}`);
    console.log(
      `packages ${Object.entries(images.packages).map(([n, v]) => `${n} ${v}`).join(", ")}`,
    );
    console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s) boot it with:`);
    console.log(bootCommand(images));
  } catch (e) {
    const msg = e instanceof FetchError ? e.message : `internal error: ${(e as Error).message}`;
    console.error(`fetch-linux: ${msg}`);
    Deno.exit(1);
  }
}
