// Opens the cryptographic envelope of an encrypted file, in the order of FORMAT.md §7.6: reserved
// entries present → keys resolved → signature verified → policy evaluated → data keys unwrapped.
// Nothing is unwrapped or decrypted before the signature over the header has been checked.
import { CryptoTensorsError } from "../errors.js";
import { parseAlgorithm } from "../crypto/algorithms.js";
import {
  DEFAULT_POLICY,
  isReservedKey,
  parseCryptoKeys,
  parseEncryption,
  parsePolicy,
  type CryptoKeysHeader,
  type EncryptionEntry,
  type PolicyHeader,
} from "../crypto/reserved.js";
import { parseDigests, PLAINTEXT_DIGESTS_KEY } from "../crypto/plaintext-digests.js";
import { signaturePayload } from "../crypto/signature.js";
import type { ParsedHeader } from "../format/types.js";
import type { MasterAccess } from "../keys/key-access.js";
import type { AeadAlgorithm } from "../crypto/algorithms.js";
import { AEAD_MAX_MESSAGE, checkMessageLimit } from "../native/validate.js";
import { headerDigest, verifyLicence } from "../licence/licence-token.js";
import {
  buildPolicyInput,
  checkPolicy,
  type PolicyEvaluator,
  type PolicyInput,
} from "../policy/index.js";
import { KeyContext, verifyWithAny, type KeysOption, type KeyTrustOptions } from "./key-lookup.js";

/** A tensor's decryption material: its data key and its IVs/tags. */
export interface SealedTensor {
  dataKey: Buffer;
  entry: EncryptionEntry;
}

/** Everything needed to decrypt the tensors of an opened file. Wipe with {@link wipeUnlocked}. */
export interface Unlocked {
  algorithm: AeadAlgorithm;
  /** Effective chunk size (FORMAT.md §2.1), or null for whole-tensor (v1) encryption. */
  chunkSize: number | null;
  cryptoKeys: CryptoKeysHeader;
  policy: PolicyHeader;
  /** Names listed in `__encryption__`: never read as plaintext, whether or not their key is unwrapped. */
  encryptedNames: Set<string>;
  tensors: Map<string, SealedTensor>;
  /** Signed SHA-256 of plaintext tensors (`__plaintext_sha256__`), by name; empty when the file has none. */
  plaintextDigests: Map<string, Buffer>;
}

export interface UnlockOptions extends KeyTrustOptions {
  policyEvaluator?: PolicyEvaluator;
  claims?: Record<string, unknown>;
  /** Verify signature and policy only: no master key needed, no data key unwrapped. */
  verifyOnly?: boolean;
  /** Tensors requested by the caller (the policy's `input.tensors`); default all in the header. */
  tensors?: readonly string[];
  /** Refuse the file when a (requested) plaintext tensor has no signed digest. */
  requireAuthenticated?: boolean;
  /** A licence token (JWT) whose verified claims become `input.claims`. */
  licence?: string;
  /** Pinned licence issuer keys; required with `licence`. */
  licenceIssuers?: KeysOption;
  /** @internal The N header bytes: the model's digest for licences and key-release requests. */
  headerRegion?: Uint8Array;
  /**
   * @internal Key-release service mode: evaluate the file's `remote` policy with this input
   * (built from the signed header and a verified licence) instead of the local one.
   */
  remotePolicyInput?: (context: {
    kid: string | undefined;
    digest: string | undefined;
  }) => PolicyInput;
}

/** Reserved entries of the metadata, by name. */
export function reservedEntries(header: ParsedHeader): Map<string, string> {
  const found = new Map<string, string>();
  for (const [key, value] of header.metadata ?? []) {
    if (isReservedKey(key)) found.set(key, value);
  }
  return found;
}

/** True when the header marks the file as encrypted (FORMAT.md §2: iff `__encryption__` is present). */
export function isEncrypted(header: ParsedHeader): boolean {
  return reservedEntries(header).has("__encryption__");
}

export async function unlock(
  header: ParsedHeader,
  path: string,
  options: UnlockOptions,
): Promise<Unlocked> {
  const reserved = reservedEntries(header);
  const cryptoKeysText = reserved.get("__crypto_keys__");
  const encryptionText = reserved.get("__encryption__");
  const signature = reserved.get("__signature__");
  const policyText = reserved.get("__policy__");
  if (encryptionText === undefined)
    throw new CryptoTensorsError("ERR_NOT_ENCRYPTED", `${path} is not encrypted`);
  if (cryptoKeysText === undefined) {
    throw new CryptoTensorsError(
      "ERR_CRYPTO_KEYS_INVALID",
      `${path} has __encryption__ but no __crypto_keys__: the file is damaged or was tampered with`,
    );
  }
  if (signature === undefined) {
    throw new CryptoTensorsError(
      "ERR_MISSING_SIGNATURE",
      `${path} is encrypted but carries no __signature__: refusing an unauthenticated header`,
    );
  }
  if (policyText === undefined) {
    throw new CryptoTensorsError(
      "ERR_POLICY_MISSING",
      `${path} is encrypted but carries no __policy__: the file is damaged or was tampered with`,
    );
  }
  const cryptoKeys = parseCryptoKeys(cryptoKeysText);

  const context = KeyContext.open(options);
  const verify = async (): Promise<void> => {
    const verifiers = await context.verifiers(cryptoKeys.sign);
    try {
      verifyWithAny(
        signaturePayload(header.metadata ?? [], header.tensors),
        signature,
        verifiers.keys,
        verifiers.pinned,
      );
    } finally {
      verifiers.release();
    }
  };
  try {
    // With pinned verification keys the key does not depend on the header, so the signature is
    // checked first: an unsigned or forged header never makes a provider fetch a master key for
    // its kid/jku. Otherwise both keys are resolved first, master first, as the reference does (§5.3).
    // A provider that keeps its key (HSM/KMS) is only chosen here; it is asked to unwrap after
    // the signature and the policy have been checked, in one batch.
    if (context.pinned) await verify();
    const master = options.verifyOnly ? undefined : await context.masterAccess(cryptoKeys.enc);
    try {
      if (!context.pinned) await verify();
      return await unwrapAll(header, path, options, cryptoKeys, policyText, encryptionText, master);
    } finally {
      master?.release();
    }
  } finally {
    context.dispose();
  }
}

async function unwrapAll(
  header: ParsedHeader,
  path: string,
  options: UnlockOptions,
  cryptoKeys: CryptoKeysHeader,
  policyText: string,
  encryptionText: string,
  masterKey: MasterAccess | undefined,
): Promise<Unlocked> {
  const policy = parsePolicy(policyText);
  // The header's digest names the model to a licence or a key-release service only: a SHA-256
  // of a large header on every other open was wasted (issue 13).
  const digest =
    options.headerRegion && (options.licence !== undefined || options.remotePolicyInput)
      ? headerDigest(options.headerRegion)
      : undefined;
  const requestedNames = options.tensors ? [...options.tensors] : header.tensors.map((t) => t.name);
  if (options.remotePolicyInput) {
    const remoteInput = options.remotePolicyInput({ kid: cryptoKeys.enc.kid, digest });
    await checkPolicy(policy.remote, remoteInput, options.policyEvaluator);
  } else {
    const input = buildPolicyInput({
      path,
      tensors: requestedNames,
      keyIds: { enc: cryptoKeys.enc.kid, sign: cryptoKeys.sign.kid },
      claims: await policyClaims(options, cryptoKeys.enc.kid, digest),
    });
    // The default policy's text (`allow = true`, written when no policy is given) allows every
    // input under the embedded engine: its evaluation is skipped, not its input (whose checks
    // and licence run above). A caller's own evaluator is always asked.
    if (options.policyEvaluator !== undefined || policy.local !== DEFAULT_POLICY)
      await checkPolicy(policy.local, input, options.policyEvaluator);
  }

  const algorithm = parseAlgorithm(masterKey?.alg ? masterKey.alg : cryptoKeys.enc.alg);
  const entries = parseEncryption(encryptionText);
  const encryptedNames = new Set(entries.keys());
  const plaintextDigests = checkedDigests(header, path, encryptedNames, options);
  // A message over the AEAD's limit (a v1 tensor or v2 chunk over 64 GiB for GCM) is refused at
  // open, on every backend and engine alike (issue 20 item 8). The error's text is built only for
  // a tensor over the limit: a string per tensor was a measurable part of an open (issue 13).
  const limit = AEAD_MAX_MESSAGE[algorithm];
  const chunkSize = cryptoKeys.chunkSize;
  for (const tensor of header.tensors) {
    const [begin, end] = tensor.dataOffsets;
    const length = end - begin;
    if ((chunkSize ? Math.min(chunkSize, length) : length) <= limit) continue;
    if (!entries.has(tensor.name)) continue;
    checkMessageLimit(algorithm, chunkSize, length, `${path}: ${JSON.stringify(tensor.name)}`);
  }
  const unlocked: Unlocked = {
    algorithm,
    chunkSize: cryptoKeys.chunkSize,
    cryptoKeys,
    policy,
    encryptedNames,
    tensors: new Map(),
    plaintextDigests,
  };
  if (!masterKey) return unlocked;

  // Only the requested tensors' keys are unwrapped (one batch): a handle opened for a subset (the
  // policy saw only that subset) never holds the keys of the others. Without a subset, every
  // entry is unwrapped, even those for tensors absent from the header, as the reference does: a
  // wrong master key fails here, at open, not at first access.
  const wanted = options.tensors ? new Set(options.tensors) : null;
  const names = [...entries.keys()].filter((name) => !wanted || wanted.has(name));
  const dataKeys = await masterKey.unwrap(
    algorithm,
    names.map((name) => entries.get(name) as EncryptionEntry),
    options.headerRegion
      ? { header: options.headerRegion, size: fileSizeOf(header), tensors: names }
      : undefined,
  );
  names.forEach((name, i) => {
    unlocked.tensors.set(name, {
      dataKey: dataKeys[i] as Buffer,
      entry: entries.get(name) as EncryptionEntry,
    });
  });
  return unlocked;
}

/**
 * The signed digests of the plaintext tensors (the signature has been verified by now), and,
 * under `requireAuthenticated`, the refusal of any requested plaintext tensor without one.
 */
function checkedDigests(
  header: ParsedHeader,
  path: string,
  encryptedNames: ReadonlySet<string>,
  options: UnlockOptions,
): Map<string, Buffer> {
  const plaintext = new Set<string>();
  const tensors = header.tensors;
  for (let i = 0; i < tensors.length; i++) {
    const name = (tensors[i] as ParsedHeader["tensors"][number]).name;
    if (!encryptedNames.has(name)) plaintext.add(name);
  }
  const text = reservedEntries(header).get(PLAINTEXT_DIGESTS_KEY);
  const digests = text === undefined ? new Map<string, Buffer>() : parseDigests(text, plaintext);
  if (options.requireAuthenticated) {
    const wanted = options.tensors ? new Set(options.tensors) : null;
    const bare = [...plaintext].filter(
      (name) => !digests.has(name) && (!wanted || wanted.has(name)),
    );
    if (bare.length > 0) {
      throw new CryptoTensorsError(
        "ERR_TENSOR_UNAUTHENTICATED",
        `${path} has ${bare.length} plaintext tensor(s) that its signature does not authenticate (${bare
          .slice(0, 3)
          .map((n) => JSON.stringify(n).slice(0, 100))
          .join(
            ", ",
          )}${bare.length > 3 ? ", …" : ""}): anyone could have changed them. The file was written partially encrypted by the reference or an older version; re-encrypt it, or allow unauthenticated tensors explicitly`,
      );
    }
  }
  return digests;
}

/** Zeroes every data key held by `unlocked`. */
export function wipeUnlocked(unlocked: Unlocked): void {
  for (const sealed of unlocked.tensors.values()) sealed.dataKey.fill(0);
  unlocked.tensors.clear();
}

/** The size of the file a validated header describes (its data section ends the file). */
function fileSizeOf(header: ParsedHeader): number {
  let end = 0;
  for (const tensor of header.tensors) end = Math.max(end, tensor.dataOffsets[1]);
  return header.dataStart + end;
}

/** `input.claims`: the caller's, or those of a licence verified for this model. */
async function policyClaims(
  options: UnlockOptions,
  kid: string | undefined,
  digest: string | undefined,
): Promise<Record<string, unknown> | undefined> {
  if (options.licence === undefined) return options.claims;
  if (options.claims !== undefined)
    throw new TypeError(
      "pass either claims or a licence, not both (the licence's claims would be mixed with unverified ones)",
    );
  if (options.licenceIssuers === undefined)
    throw new TypeError(
      "a licence needs licenceIssuers: the pinned public keys of the licence issuer",
    );
  const verified = await verifyLicence(options.licence, {
    issuers: options.licenceIssuers,
    model: { ...(kid === undefined ? {} : { kid }), ...(digest === undefined ? {} : { digest }) },
  });
  return verified.claims;
}
