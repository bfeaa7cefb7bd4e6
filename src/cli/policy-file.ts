// `--policy FILE`: a JSON object {"local"?: REGO, "remote"?: REGO}, for encrypt and rewrap.
import { readFile } from "node:fs/promises";
import { CryptoTensorsError } from "../index.js";

export async function readPolicyFile(path: string): Promise<{ local?: string; remote?: string }> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (cause) {
    throw new CryptoTensorsError(
      "ERR_POLICY_INVALID",
      `cannot read the policy file ${path}: expected JSON {"local": REGO, "remote": REGO}`,
      { cause },
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CryptoTensorsError(
      "ERR_POLICY_INVALID",
      `${path} must hold a JSON object {"local"?: REGO, "remote"?: REGO}`,
    );
  }
  // Fail closed: a typo ({"Local": …}) or a file that is not a policy file (a key set, a
  // manifest) must not silently fall back to the default allow-all policy.
  const unknown = Object.keys(value).filter((key) => key !== "local" && key !== "remote");
  if (unknown.length > 0) {
    throw new CryptoTensorsError(
      "ERR_POLICY_INVALID",
      `${path} has unknown member(s) ${unknown
        .slice(0, 5)
        .map((k) => JSON.stringify(k).slice(0, 60))
        .join(", ")}: a policy file holds only "local" and "remote" (Rego texts)`,
    );
  }
  if (Object.keys(value).length === 0) {
    throw new CryptoTensorsError(
      "ERR_POLICY_INVALID",
      `${path} names no policy: give "local" and/or "remote", or leave out --policy for the default`,
    );
  }
  const policy: { local?: string; remote?: string } = {};
  for (const side of ["local", "remote"] as const) {
    const text = (value as Record<string, unknown>)[side];
    if (text === undefined) continue;
    if (typeof text !== "string")
      throw new CryptoTensorsError(
        "ERR_POLICY_INVALID",
        `${path}: "${side}" must be a string of Rego`,
      );
    policy[side] = text;
  }
  return policy;
}
