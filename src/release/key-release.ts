// The decision of the key-release service, without HTTP: check a release request (header
// signed by a pinned publisher key, licence verified for this model, not revoked, within its
// rate), evaluate the file's `remote` policy, unwrap only the requested data keys through the
// service's key provider, and seal them to the client's ephemeral key.
import { CryptoTensorsError } from "../errors.js";
import { parseCryptoKeys } from "../crypto/reserved.js";
import { parseHeader } from "../format/header.js";
import { KeyProviderRegistry } from "../keys/registry.js";
import { headerDigest, verifyLicence } from "../licence/licence-token.js";
import type { PolicyEvaluator } from "../policy/index.js";
import type { KeysOption } from "../reader/key-lookup.js";
import { reservedEntries, unlock, wipeUnlocked } from "../reader/unlock.js";
import {
  decodeField,
  RELEASE_VERSION,
  type ReleaseRequest,
  type ReleaseResponse,
  sealDataKeys,
} from "./protocol.js";
import { RateLimiter, type RateLimit } from "./rate-limit.js";

/** Most tensors one request may name. */
const MAX_TENSORS = 131_072;

/** A set of revoked licence ids (`jti`); `has` may reload its source. */
export interface RevocationList {
  has(licenceId: string): boolean | Promise<boolean>;
}

/** One audit record: who asked for which tensors of which model, and the answer. No key material. */
export interface AuditEntry {
  time: string;
  client: string;
  licence: string | null;
  subject: string | null;
  model: string | null;
  kid: string | null;
  tensors: number;
  tensorNames: string[];
  decision: "allow" | "deny";
  code?: string;
}

/** How a key-release service is set up. */
export interface KeyReleaseOptions {
  /** The master keys it may use, as JWKs (kept in this process). */
  keys?: KeysOption;
  /** Providers that hold master keys (PKCS#11, KMIP...); consulted after `keys`. */
  keyRegistry?: KeyProviderRegistry;
  /** Pinned publisher verification keys: only headers signed by one of these are served. */
  publisherKeys: KeysOption;
  /** Pinned licence issuer keys. */
  licenceIssuers: KeysOption;
  /** Revoked licence ids. */
  revoked?: RevocationList;
  /** Per-licence rate limit; default 60 requests per 60 s. */
  rateLimit?: RateLimit;
  /** Receives one entry per request; default none. */
  audit?: (entry: AuditEntry) => void;
  /** Evaluates the remote policy; default the embedded Rego engine. */
  policyEvaluator?: PolicyEvaluator;
  /** Clock; default now (tests move it). */
  now?: () => Date;
}

function protocolError(message: string): CryptoTensorsError {
  return new CryptoTensorsError("ERR_KEY_RELEASE_PROTOCOL", message);
}

/** The checked fields of a request. */
function readRequest(body: unknown): {
  request: ReleaseRequest;
  header: Buffer;
  clientPub: Buffer;
  nonce: Buffer;
} {
  const r = body as Partial<ReleaseRequest> | null;
  if (r === null || typeof r !== "object" || Array.isArray(r))
    throw protocolError("the request is not a JSON object");
  if (r.v !== RELEASE_VERSION) throw protocolError(`the request is not version ${RELEASE_VERSION}`);
  if (typeof r.licence !== "string" || r.licence.length === 0)
    throw protocolError("the request carries no licence");
  if (typeof r.size !== "number" || !Number.isSafeInteger(r.size) || r.size < 8)
    throw protocolError("size must be the file size (an integer)");
  if (
    !Array.isArray(r.tensors) ||
    r.tensors.length === 0 ||
    r.tensors.length > MAX_TENSORS ||
    !r.tensors.every((t) => typeof t === "string")
  )
    throw protocolError("tensors must be a non-empty array of tensor names");
  if (new Set(r.tensors).size !== r.tensors.length)
    throw protocolError("tensors names a tensor twice");
  if (
    r.info !== undefined &&
    (typeof r.info !== "object" || r.info === null || Array.isArray(r.info))
  )
    throw protocolError("info must be a JSON object");
  return {
    request: r as ReleaseRequest,
    header: decodeField(r.header, "header"),
    clientPub: decodeField(r.pub, "pub", 32),
    nonce: decodeField(r.nonce, "nonce", 32),
  };
}

/**
 * The service's decision logic. {@link KeyRelease.release} answers one request or throws a
 * typed error (`ERR_KEY_RELEASE_PROTOCOL`, `ERR_LICENCE_*`, `ERR_SIGNATURE_INVALID`,
 * `ERR_KEY_UNTRUSTED`, `ERR_KEY_RELEASE_DENIED`, ...); every request is audited.
 *
 * @example
 * ```ts
 * const service = new KeyRelease({ keys: masterJwks, publisherKeys, licenceIssuers });
 * const response = await service.release(JSON.parse(body), "127.0.0.1");
 * ```
 */
export class KeyRelease {
  readonly #options: KeyReleaseOptions;
  readonly #registry: KeyProviderRegistry;
  readonly #limiter: RateLimiter;

  constructor(options: KeyReleaseOptions) {
    if (options.publisherKeys === undefined)
      throw new TypeError("publisherKeys (the pinned publisher verification keys) are required");
    if (options.licenceIssuers === undefined)
      throw new TypeError("licenceIssuers (the pinned licence issuer keys) are required");
    this.#options = options;
    // Only the configured keys: never the process-wide registry or CRYPTOTENSOR_KEYS.
    this.#registry = options.keyRegistry ?? new KeyProviderRegistry([]);
    this.#limiter = new RateLimiter(options.rateLimit ?? { requests: 60, perSeconds: 60 });
  }

  async release(body: unknown, client: string): Promise<ReleaseResponse> {
    const entry: AuditEntry = {
      time: (this.#options.now?.() ?? new Date()).toISOString(),
      client,
      licence: null,
      subject: null,
      model: null,
      kid: null,
      tensors: 0,
      tensorNames: [],
      decision: "deny",
    };
    try {
      const response = await this.#decide(body, client, entry);
      entry.decision = "allow";
      return response;
    } catch (error) {
      entry.code = error instanceof CryptoTensorsError ? error.code : "ERR_INTERNAL";
      throw error;
    } finally {
      this.#options.audit?.(entry);
    }
  }

  async #decide(body: unknown, client: string, entry: AuditEntry): Promise<ReleaseResponse> {
    const now = this.#options.now?.() ?? new Date();
    const { request, header: headerBytes, clientPub, nonce } = readRequest(body);
    entry.tensors = request.tensors.length;
    entry.tensorNames = request.tensors.slice(0, 64);
    if (headerBytes.length === 0 || headerBytes.length + 8 > request.size)
      throw protocolError("header and size do not describe a file");
    const header = parseHeader(headerBytes, request.size);
    const digest = headerDigest(headerBytes);
    entry.model = digest;
    const cryptoKeysText = reservedEntries(header).get("__crypto_keys__");
    if (cryptoKeysText === undefined)
      throw protocolError("the header is not an encrypted CryptoTensors header");
    const kid = parseCryptoKeys(cryptoKeysText).enc.kid;
    entry.kid = kid ?? null;

    const licence = await verifyLicence(request.licence, {
      issuers: this.#options.licenceIssuers,
      model: { ...(kid === undefined ? {} : { kid }), digest },
      now,
    });
    entry.licence = licence.id;
    entry.subject = licence.subject;
    if (await this.#options.revoked?.has(licence.id)) {
      throw new CryptoTensorsError(
        "ERR_LICENCE_REVOKED",
        "this licence has been revoked by the publisher",
      );
    }
    const wait = this.#limiter.take(licence.id, now.getTime());
    if (wait > 0) {
      throw new CryptoTensorsError(
        "ERR_KEY_RELEASE_DENIED",
        `rate limit of this licence reached; retry in ${Math.ceil(wait / 1000)} s`,
      );
    }
    const present = new Set(header.tensors.map((t) => t.name));
    const absent = request.tensors.find((t) => !present.has(t));
    if (absent !== undefined)
      throw protocolError(`the header has no tensor ${JSON.stringify(absent)}`);

    const input = {
      claims: licence.claims,
      model: { kid: kid ?? null, digest, tensors: header.tensors.map((t) => t.name) },
      tensors: [...request.tensors],
      client: { address: client, ...(request.info === undefined ? {} : { info: request.info }) },
      time: { now_ns: BigInt(now.getTime()) * 1_000_000n, rfc3339: now.toISOString() },
    };
    let unlocked: Awaited<ReturnType<typeof unlock>>;
    try {
      unlocked = await unlock(header, `model ${digest}`, {
        ...(this.#options.keys === undefined ? {} : { keys: this.#options.keys }),
        keyRegistry: this.#registry,
        verifyKeys: this.#options.publisherKeys,
        tensors: request.tensors,
        headerRegion: headerBytes,
        remotePolicyInput: () => input,
        ...(this.#options.policyEvaluator
          ? { policyEvaluator: this.#options.policyEvaluator }
          : {}),
      });
    } catch (error) {
      if (
        error instanceof CryptoTensorsError &&
        (error.code === "ERR_POLICY_DENIED" || error.code === "ERR_POLICY_UNDEFINED")
      ) {
        throw new CryptoTensorsError(
          "ERR_KEY_RELEASE_DENIED",
          `the model's remote policy does not allow this licence (${licence.subject}) these tensors`,
          { cause: error },
        );
      }
      throw error;
    }
    try {
      const keys = request.tensors.map((name) => {
        const sealed = unlocked.tensors.get(name);
        if (sealed === undefined)
          throw protocolError(`tensor ${JSON.stringify(name)} is not encrypted: it needs no key`);
        return sealed.dataKey;
      });
      return sealDataKeys(keys, { digest, tensors: request.tensors, clientPub, nonce });
    } finally {
      wipeUnlocked(unlocked);
    }
  }
}
