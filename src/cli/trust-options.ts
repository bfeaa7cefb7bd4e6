// Options shared by the commands that open encrypted files: --keys, --verify-keys (pinned
// verification keys) and --jku-root (directories a header's file:// jku may point into).
import type { OpenOptions } from "../index.js";
import { readKeySet } from "./keys-file.js";

export const TRUST_OPTIONS = {
  keys: { type: "string" },
  "verify-keys": { type: "string" },
  "jku-root": { type: "string", multiple: true },
} as const;

export async function openOptionsFrom(values: Record<string, unknown>): Promise<OpenOptions> {
  const keys = await readKeySet(values.keys as string | undefined);
  const verifyKeys = await readKeySet(values["verify-keys"] as string | undefined);
  const roots = values["jku-root"] as string[] | undefined;
  return {
    ...(keys ? { keys } : {}),
    ...(verifyKeys ? { verifyKeys } : {}),
    ...(roots ? { jkuRoots: roots } : {}),
  };
}
