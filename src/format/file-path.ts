// Paths as the public API takes them: a string, or a `file:` URL (e.g. `new URL("./m.safetensors",
// import.meta.url)`). Other URL schemes are API misuse (TypeError), not a fetch.
import { fileURLToPath } from "node:url";

/** A filesystem path: a string or a `file:` URL. */
export type PathInput = string | URL;

/**
 * The string path of `path`; other values are returned unchanged for the caller's own checks.
 *
 * @example
 * ```ts
 * toFilePath(new URL("file:///models/m.safetensors")); // "/models/m.safetensors"
 * ```
 */
export function toFilePath<T>(path: T): Exclude<T, URL> | string {
  if (!(path instanceof URL)) return path as Exclude<T, URL>;
  if (path.protocol !== "file:") {
    throw new TypeError(`only file: URLs name a local file, got a ${path.protocol} URL`);
  }
  return fileURLToPath(path);
}
