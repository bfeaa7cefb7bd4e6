// Finds the master and verification keys for an encrypted file, in the reference's priority
// order (FORMAT.md §5.2–§5.3): keys passed in options first, then the CRYPTOTENSOR_KEYS variable.
import { CryptoTensorsError } from "../errors.js";
import type { KeyDescriptor } from "../crypto/reserved.js";
import { keyRingFromEnv, parseKeySet, type KeyRing } from "../keys/keyring.js";
import type { MasterKey, SigningKey } from "../keys/jwk.js";

/** What callers may pass as `keys`: a JWK set `{ keys: [...] }`, an array of JWKs, one JWK, or a parsed KeyRing. */
export type KeysOption = KeyRing | { keys: readonly unknown[] } | readonly unknown[] | Record<string, unknown>;

/** The key rings to search, in priority order, each with a label used in "not found" messages. */
export interface KeySources {
  rings: Array<{ label: string; ring: KeyRing }>;
}

export function keySources(keys: KeysOption | undefined, env: NodeJS.ProcessEnv = process.env): KeySources {
  const rings: KeySources["rings"] = [];
  if (keys !== undefined) rings.push({ label: "options.keys", ring: toKeyRing(keys) });
  const fromEnv = keyRingFromEnv(env);
  if (fromEnv) rings.push({ label: "CRYPTOTENSOR_KEYS", ring: fromEnv });
  return { rings };
}

export function toKeyRing(keys: KeysOption): KeyRing {
  if (keys !== null && typeof keys === "object" && "findMaster" in keys && typeof keys.findMaster === "function") {
    return keys as KeyRing;
  }
  return parseKeySet(keys);
}

export function findMasterKey(sources: KeySources, descriptor: KeyDescriptor): MasterKey {
  for (const { ring } of sources.rings) {
    const key = ring.findMaster(descriptor.kid);
    if (key) return key;
  }
  throw notFound("master (decryption)", descriptor, sources);
}

export function findVerifyKey(sources: KeySources, descriptor: KeyDescriptor): SigningKey {
  for (const { ring } of sources.rings) {
    const key = ring.findVerifier(descriptor.kid);
    if (key) return key;
  }
  throw notFound("verification", descriptor, sources);
}

function notFound(role: string, descriptor: KeyDescriptor, sources: KeySources): CryptoTensorsError {
  const wanted = descriptor.kid === undefined ? "with no kid" : `with kid ${JSON.stringify(descriptor.kid)}`;
  const looked = sources.rings.length ? sources.rings.map((r) => r.label).join(", ") : "nowhere (no keys given)";
  const jku = descriptor.jku === undefined ? "" : ` The header names jku ${JSON.stringify(descriptor.jku)}; jku URLs are not followed.`;
  return new CryptoTensorsError(
    "ERR_KEY_NOT_FOUND",
    `no ${role} key ${wanted} was found (looked in: ${looked}).${jku} Pass the key set with { keys } or set CRYPTOTENSOR_KEYS.`,
  );
}
