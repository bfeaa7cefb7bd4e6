// The encryption options shared by `encrypt` and `encrypt-onnx`: keys from --keys or
// CRYPTOTENSOR_KEYS, --enc-kid/--sign-kid, --format-version, --chunk-size and --policy.
import { CryptoTensorsError, type EncryptionOptions } from "../index.js";
import { type Options, UsageError } from "./args.js";
import { requireKeySet } from "./keys-file.js";
import { readPolicyFile } from "./policy-file.js";

/** parseArgs options for {@link encryptionFromArgs}. */
export const ENCRYPTION_ARGS: Options = {
  keys: { type: "string" },
  "enc-kid": { type: "string" },
  "sign-kid": { type: "string" },
  "format-version": { type: "string" },
  "chunk-size": { type: "string" },
  policy: { type: "string" },
};

/** Builds `EncryptionOptions` (without a tensor filter) from parsed CLI values. */
export async function encryptionFromArgs(
  values: Record<string, string | boolean | string[] | undefined>,
): Promise<EncryptionOptions> {
  const ring = await requireKeySet(values.keys as string | undefined);
  const encKid = values["enc-kid"] as string | undefined;
  const signKid = values["sign-kid"] as string | undefined;
  const encKey = ring.findMaster(encKid);
  const signKey = ring.findSigner(signKid);
  if (!encKey)
    throw new CryptoTensorsError(
      "ERR_KEY_NOT_FOUND",
      `the key set has no symmetric key${encKid ? ` with kid ${JSON.stringify(encKid)}` : ""}`,
    );
  if (!signKey)
    throw new CryptoTensorsError(
      "ERR_KEY_NOT_FOUND",
      `the key set has no Ed25519 private key${signKid ? ` with kid ${JSON.stringify(signKid)}` : ""}`,
    );
  return { encKey, signKey, ...(await layoutFromArgs(values)) };
}

/** The file layout and policy options (--format-version, --chunk-size, --policy), checked. */
export async function layoutFromArgs(
  values: Record<string, unknown>,
): Promise<Pick<EncryptionOptions, "version" | "chunkSize" | "policy">> {
  const version = values["format-version"] as string | undefined;
  if (version !== undefined && version !== "1" && version !== "2")
    throw new UsageError("--format-version must be 1 or 2");
  const chunkSizeText = values["chunk-size"] as string | undefined;
  const chunkSize = chunkSizeText === undefined ? undefined : Number(chunkSizeText);
  if (
    chunkSize !== undefined &&
    (!/^[0-9]+$/.test(chunkSizeText as string) ||
      !Number.isSafeInteger(chunkSize) ||
      chunkSize <= 0)
  ) {
    throw new UsageError("--chunk-size must be a positive integer number of bytes");
  }
  const policy =
    values.policy === undefined ? undefined : await readPolicyFile(values.policy as string);
  return {
    ...(version ? { version: version as "1" | "2" } : {}),
    ...(chunkSize !== undefined ? { chunkSize } : {}),
    ...(policy ? { policy } : {}),
  };
}
