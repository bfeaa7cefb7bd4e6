// What the read API accepts as a file: a local path, any ByteSource, or an http(s) URL (string or
// URL object), which becomes an HttpSource here so that everything above sees one kind of target.
import { fileURLToPath } from "node:url";
import type { ByteSource } from "./byte-source.js";
import type { RemoteOptions } from "./http-source.js";
import { isRemoteUrl, openHttpSource } from "./remote-url.js";

/**
 * Opens an http(s) target as a source; leaves paths and sources as they are.
 *
 * @example
 * ```ts
 * const target = await resolveTarget("https://host/m.safetensors", { timeoutMs: 5000 });
 * const file = await getBackend().open(target);
 * ```
 */
export async function resolveTarget(
  target: string | URL | ByteSource,
  remote: RemoteOptions | undefined,
  signal?: AbortSignal,
): Promise<string | ByteSource> {
  // A file: URL (e.g. new URL("./m.safetensors", import.meta.url)) names a local path.
  if (target instanceof URL && target.protocol === "file:") return fileURLToPath(target);
  if (!isRemoteUrl(target)) {
    if (target instanceof URL) throw new TypeError("only http: and https: URLs can be read");
    return target;
  }
  return openHttpSource(target, {
    ...remote,
    ...(remote?.signal === undefined && signal !== undefined ? { signal } : {}),
  });
}
