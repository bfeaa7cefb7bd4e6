// The `file://` jku provider (FORMAT.md §5.2, priority 10), hardened against §8.2: the reference
// opens any path a header names, before the header is verified, so a planted key file can make a
// forged model verify and `file:///dev/zero` hangs the loader. Here a key file is read only when
// its real path (symlinks resolved) lies inside a configured root, only if it is a regular file,
// and only up to a size cap; FIFOs and devices are refused without blocking.
import { constants } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, relative } from "node:path";
import { CryptoTensorsError } from "../errors.js";
import { quoteShort } from "../crypto/quote.js";
import { jwkEntries, parseKeyJson, selectJwk, type KeyRole } from "./jwk-select.js";
import type { KeyProvider, KeyRequest } from "./provider.js";

/** Largest key file read by default: a JWK set is a few hundred bytes. */
export const DEFAULT_MAX_KEY_FILE_BYTES = 64 * 1024;

/** Settings of {@link FileKeyProvider}. */
export interface FileKeyProviderOptions {
  /**
   * Directories a `file://` jku may point into (the jku allow-list). Default none: no jku is
   * followed until roots are configured.
   */
  roots?: readonly string[];
  /** Refuse key files larger than this (default 64 KiB). */
  maxBytes?: number;
  /** Directory that `file://~/…` refers to; default `os.homedir()`. */
  home?: string;
}

/**
 * The file path a `jku` names, or null when it names none this provider can follow: the scheme
 * `file://` (case-insensitive here, as in the reference); `file:///p` → `/p`, `file://~/p` →
 * `$HOME/p`. Relative forms (the reference resolves them against search paths, of which its
 * default provider has none) and paths with NUL are not followed.
 *
 * @example
 * ```ts
 * jkuPath("file:///etc/cryptotensors/keys.jwks", "/root"); // "/etc/cryptotensors/keys.jwks"
 * jkuPath("file://~/keys.jwks", "/home/me");                // "/home/me/keys.jwks"
 * jkuPath("https://example.com/keys", "/root");             // null
 * ```
 */
export function jkuPath(jku: string, home: string): string | null {
  if (!/^file:\/\//i.test(jku) || jku.includes("\0")) return null;
  const rest = jku.slice("file://".length);
  if (rest.startsWith("~/")) return join(home, rest.slice(2));
  if (rest.startsWith("/")) return rest;
  return null;
}

/**
 * Follows `file://` jku URLs inside configured roots. Matches, like the reference, only a jku
 * that starts with `file://` exactly; answers master and verification keys (never signing keys).
 * A jku outside the roots, a symlink leaving them, or no roots at all is `ERR_KEY_UNTRUSTED`; a
 * FIFO, device or directory, or a file over the cap, `ERR_KEY_INVALID`; a missing file
 * `ERR_KEY_NOT_FOUND`.
 *
 * @example
 * ```ts
 * registerKeyProvider(new FileKeyProvider({ roots: ["/etc/cryptotensors/keys"] }));
 * ```
 */
export class FileKeyProvider implements KeyProvider {
  readonly name = "file";
  readonly priority = 10;
  readonly roots: readonly string[];
  readonly maxBytes: number;
  private readonly home: string;

  constructor(options: FileKeyProviderOptions = {}) {
    const roots = options.roots ?? [];
    if (
      !Array.isArray(roots) ||
      !roots.every((root) => typeof root === "string" && isAbsolute(root))
    ) {
      throw new TypeError("roots must be an array of absolute directory paths");
    }
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_KEY_FILE_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0)
      throw new RangeError("maxBytes must be a positive integer");
    this.roots = [...roots];
    this.maxBytes = maxBytes;
    this.home = options.home ?? homedir();
  }

  matches(request: KeyRequest): boolean {
    return request.jku?.startsWith("file://") === true;
  }

  async getMasterKey(request: KeyRequest): Promise<Record<string, unknown> | undefined> {
    return this.select("master", request);
  }

  async getVerifyKey(request: KeyRequest): Promise<Record<string, unknown> | undefined> {
    return this.select("verify", request);
  }

  private async select(
    role: KeyRole,
    request: KeyRequest,
  ): Promise<Record<string, unknown> | undefined> {
    if (request.jku === undefined) return undefined;
    const path = jkuPath(request.jku, this.home);
    if (path === null) {
      throw new CryptoTensorsError(
        "ERR_KEY_UNTRUSTED",
        `jku ${quoteShort(request.jku)} is not an absolute file:// URL; it is not followed`,
      );
    }
    const text = await readKeyFile(path, this.roots, this.maxBytes, request.jku);
    return selectJwk(
      jwkEntries(parseKeyJson(text, `key file ${path}`), `key file ${path}`),
      role,
      request.kid,
    );
  }
}

/**
 * Reads a key file if its real path lies inside one of `roots` and it is a regular file of at
 * most `maxBytes`; see {@link FileKeyProvider} for the errors. `jku` is only used in messages.
 *
 * @example
 * ```ts
 * const text = await readKeyFile("/etc/ct/keys.jwks", ["/etc/ct"], 65536, "file:///etc/ct/keys.jwks");
 * ```
 */
export async function readKeyFile(
  path: string,
  roots: readonly string[],
  maxBytes: number,
  jku: string,
): Promise<string> {
  const shown = quoteShort(jku);
  if (roots.length === 0) {
    throw new CryptoTensorsError(
      "ERR_KEY_UNTRUSTED",
      `the header names jku ${shown}, but no jku roots are configured; pass jkuRoots (directories you trust) to follow it`,
    );
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch (cause) {
    throw new CryptoTensorsError(
      "ERR_KEY_NOT_FOUND",
      `the key file of jku ${shown} cannot be found (${(cause as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  const realRoots = await Promise.all(roots.map((root) => realpath(root).catch(() => null)));
  const inside = realRoots.some((root) => {
    if (root === null) return false;
    const rel = relative(root, real);
    return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
  });
  if (!inside) {
    throw new CryptoTensorsError(
      "ERR_KEY_UNTRUSTED",
      `jku ${shown} resolves outside the allowed jku roots (${roots.join(", ")}); refusing to read a key file from there`,
    );
  }
  // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the final component was
  // resolved above and must not have become a symlink since.
  const handle = await open(
    real,
    constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW,
  ).catch((cause: unknown) => {
    throw new CryptoTensorsError(
      "ERR_KEY_NOT_FOUND",
      `the key file of jku ${shown} cannot be opened (${(cause as NodeJS.ErrnoException).code ?? "error"})`,
    );
  });
  try {
    const info = await handle.stat();
    if (!info.isFile())
      throw new CryptoTensorsError(
        "ERR_KEY_INVALID",
        `the key file of jku ${shown} is not a regular file`,
      );
    if (info.size > maxBytes)
      throw new CryptoTensorsError(
        "ERR_KEY_INVALID",
        `the key file of jku ${shown} is ${info.size} bytes, above the ${maxBytes}-byte cap`,
      );
    // Read one byte past the cap: the file may have grown since fstat.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) {
        buffer.fill(0);
        throw new CryptoTensorsError(
          "ERR_KEY_INVALID",
          `the key file of jku ${shown} is above the ${maxBytes}-byte cap`,
        );
      }
    }
    const text = buffer.toString("utf8", 0, length);
    buffer.fill(0);
    return text;
  } finally {
    await handle.close();
  }
}
