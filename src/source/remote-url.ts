// The entry points to remote reading that every loader needs, without the HTTP machinery: telling
// an http(s) target from a path, and opening one, which imports http-source.ts (node:http,
// node:https, node:net and the range client) on first use. Importing the package for local files
// therefore never loads them (issue 13: resident memory of a fresh process).
import type { HttpSource, RemoteOptions } from "./http-source.js";

/**
 * True for the targets openFile reads over HTTP: a string starting with `http://` or `https://`,
 * or a URL object.
 *
 * @example
 * ```ts
 * isRemoteUrl("https://example.com/model.safetensors"); // true
 * ```
 */
export function isRemoteUrl(target: unknown): target is string | URL {
  return target instanceof URL || (typeof target === "string" && /^https?:\/\//i.test(target));
}

/**
 * Opens an http(s) URL as a {@link ByteSource}: one range request for the first
 * `headerReadBytes`, identity pinned. Errors: ERR_REMOTE_HTTP, ERR_REMOTE_NO_RANGES,
 * ERR_REMOTE_PROTOCOL (also when the server gives neither a strong ETag nor Last-Modified),
 * ERR_REMOTE_TIMEOUT, ERR_IO (connection), ERR_ABORTED.
 *
 * @example
 * ```ts
 * const source = await openHttpSource("https://models.example/m.safetensors", {
 *   headers: { authorization: `Bearer ${token}` },
 * });
 * const file = await openFile(source, { keys });
 * ```
 */
export async function openHttpSource(
  url: string | URL,
  options: RemoteOptions = {},
): Promise<HttpSource> {
  const http = await import("./http-source.js");
  return http.openHttpSource(url, options);
}
