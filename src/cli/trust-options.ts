// Options shared by the commands that open encrypted files: --keys, --verify-keys (pinned
// verification keys), --jku-root (directories a header's file:// jku may point into) and
// --key-provider (an HSM or key file that unwraps and verifies, see key-providers.ts).
import type { OpenOptions, RemoteOptions } from "../index.js";
import { KEY_PROVIDER_OPTION, keyProvidersFrom } from "./key-providers.js";
import { readKeySet } from "./keys-file.js";

/** `--allow-full-download`: a URL whose server ignores Range is downloaded whole, not refused. */
export const REMOTE_OPTIONS = { "allow-full-download": { type: "boolean" } } as const;

export const TRUST_OPTIONS = {
  keys: { type: "string" },
  "verify-keys": { type: "string" },
  "jku-root": { type: "string", multiple: true },
  ...KEY_PROVIDER_OPTION,
} as const;

export async function openOptionsFrom(values: Record<string, unknown>): Promise<OpenOptions> {
  // Registered in the process-wide registry, which openFile consults after the options' keys.
  await keyProvidersFrom(values);
  const keys = await readKeySet(values.keys as string | undefined);
  const verifyKeys = await readKeySet(values["verify-keys"] as string | undefined);
  const roots = values["jku-root"] as string[] | undefined;
  return {
    ...remoteOptionsFrom(values),
    ...(keys ? { keys } : {}),
    ...(verifyKeys ? { verifyKeys } : {}),
    ...(roots ? { jkuRoots: roots } : {}),
  };
}

/**
 * Remote options for http(s) inputs: CRYPTOTENSORS_HTTP_AUTHORIZATION is sent as the
 * Authorization header (an environment variable, never an argument that `ps` would show).
 *
 * @example
 * ```ts
 * await inspectFile(url, remoteOptionsFromEnv());
 * ```
 */
export function remoteOptionsFromEnv(): { remote?: RemoteOptions } {
  const authorization = process.env["CRYPTOTENSORS_HTTP_AUTHORIZATION"];
  return authorization ? { remote: { headers: { authorization } } } : {};
}

/**
 * {@link remoteOptionsFromEnv} plus the command's `--allow-full-download`.
 *
 * @example
 * ```ts
 * await inspectFile(url, remoteOptionsFrom(values));
 * ```
 */
export function remoteOptionsFrom(values: Record<string, unknown>): { remote?: RemoteOptions } {
  const { remote } = remoteOptionsFromEnv();
  if (values["allow-full-download"] !== true) return remote ? { remote } : {};
  return { remote: { ...remote, allowFullDownload: true } };
}
