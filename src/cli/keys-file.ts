// Key sets for the CLI: `--keys FILE` (a JWK set in JSON), else the CRYPTOTENSOR_KEYS variable.
import { lstat, readFile } from "node:fs/promises";
import { CryptoTensorsError, keyRingFromEnv, type KeyRing, parseKeySet } from "../index.js";

/** Key files are small; refuse anything larger, and anything that is not a regular file. */
const MAX_KEY_FILE_BYTES = 1 << 20;

export async function readKeySet(path: string | undefined): Promise<KeyRing | undefined> {
  if (path === undefined) return undefined;
  const info = await lstat(path).catch((cause: unknown) => {
    throw new CryptoTensorsError("ERR_KEY_NOT_FOUND", `cannot read the key file ${path}`, {
      cause,
    });
  });
  if (!info.isFile() || info.size > MAX_KEY_FILE_BYTES) {
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      `${path} is not a regular file of at most 1 MiB; pass a JWK set file`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch {
    // Never echo the parser's message: it may quote key material.
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      `${path} is not valid JSON; expected a JWK set {"keys":[...]}`,
    );
  }
  return parseKeySet(value);
}

/** The key set from `--keys`, or from CRYPTOTENSOR_KEYS; throws when neither is there. */
export async function requireKeySet(path: string | undefined): Promise<KeyRing> {
  const ring = (await readKeySet(path)) ?? keyRingFromEnv(process.env) ?? undefined;
  if (!ring)
    throw new CryptoTensorsError(
      "ERR_KEY_NOT_FOUND",
      "no keys: pass --keys JWKS_FILE or set CRYPTOTENSOR_KEYS",
    );
  return ring;
}
