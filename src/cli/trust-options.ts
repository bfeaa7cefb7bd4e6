// Options shared by the commands that open encrypted files: --keys, --verify-keys (pinned
// verification keys), --jku-root (directories a header's file:// jku may point into) and
// --key-provider (an HSM or key file that unwraps and verifies, see key-providers.ts).
import type { OpenOptions } from "../index.js";
import { KEY_PROVIDER_OPTION, keyProvidersFrom } from "./key-providers.js";
import { readKeySet } from "./keys-file.js";

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
    ...(keys ? { keys } : {}),
    ...(verifyKeys ? { verifyKeys } : {}),
    ...(roots ? { jkuRoots: roots } : {}),
  };
}
