// The client of the key-release service: a KeyProvider whose master key is the publisher's
// service. At open it sends the signed header, the requested tensor names, its licence and a
// fresh ephemeral X25519 key, and opens the sealed answer; it never sees a master key.
import { parseAlgorithm, keyLength } from "../crypto/algorithms.js";
import type { WrappedDataKey } from "../crypto/envelope.js";
import { CryptoTensorsError, ERROR_CODES, type ErrorCode } from "../errors.js";
import { headerDigest } from "../licence/licence-token.js";
import type { DataKeyRequest, KeyProvider, KeyRequest } from "../keys/provider.js";
import {
  ephemeralKey,
  freshNonce,
  openDataKeys,
  RELEASE_PATH,
  RELEASE_VERSION,
  type ReleaseRequest,
} from "./protocol.js";

/** Options of {@link RemoteKeyProvider}. */
export interface RemoteKeyProviderOptions {
  /** Base URL of the key server (http or https), e.g. `https://keys.example.com`. */
  url: string | URL;
  /** The licence token, or a function returning the current one (renewed licences). */
  licence: string | (() => string | Promise<string>);
  /** Only master-key kids this service serves (default: any). */
  kids?: readonly string[];
  /** Priority in the registry; default 50. */
  priority?: number;
  /** Name; default `key-server <url>`. */
  name?: string;
  /** Time allowed per attempt (connect to last byte); default 10,000 ms. */
  timeoutMs?: number;
  /** Extra attempts after a network failure, a timeout or a 5xx; default 2. */
  retries?: number;
  /** Delay before the first retry, doubled each time; default 200 ms. */
  retryDelayMs?: number;
  /** Description of this client for the remote policy (`input.client.info`). */
  info?: Record<string, unknown>;
  /** Largest answer accepted; default 8 MiB. */
  maxResponseBytes?: number;
}

class Retryable extends Error {}

function unreachable(message: string, cause?: unknown): CryptoTensorsError {
  return new CryptoTensorsError(
    "ERR_KEY_RELEASE_UNREACHABLE",
    message,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Releases data keys from a key-release service (`cryptotensors key-server`) under a licence.
 * Errors: `ERR_KEY_RELEASE_DENIED` (remote policy, rate limit), `ERR_LICENCE_*` (expired,
 * revoked, not for this model), `ERR_KEY_RELEASE_UNREACHABLE` (down or too slow, after
 * retries), `ERR_KEY_RELEASE_PROTOCOL` (a malformed, replayed or foreign answer).
 *
 * @example
 * ```ts
 * const remote = new RemoteKeyProvider({ url: "https://keys.example.com", licence: token });
 * const file = await openFile("model.ct", {
 *   keyRegistry: new KeyProviderRegistry([remote]),
 *   verifyKeys: publisherPublicJwks,
 *   tensors: ["embed.weight"],
 * });
 * ```
 */
export class RemoteKeyProvider implements KeyProvider {
  readonly name: string;
  readonly priority: number;
  readonly #endpoint: URL;
  readonly #options: RemoteKeyProviderOptions;

  constructor(options: RemoteKeyProviderOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("options required");
    const base = new URL(options.url);
    if (base.protocol !== "http:" && base.protocol !== "https:")
      throw new TypeError("url must be an http(s) URL");
    if (typeof options.licence !== "string" && typeof options.licence !== "function")
      throw new TypeError("licence must be a token string or a function returning one");
    for (const [name, value] of [
      ["timeoutMs", options.timeoutMs],
      ["retries", options.retries],
      ["retryDelayMs", options.retryDelayMs],
    ] as const) {
      if (value !== undefined && (!Number.isFinite(value) || value < 0))
        throw new RangeError(`${name} must be a non-negative number`);
    }
    this.#endpoint = new URL(RELEASE_PATH, base);
    this.#options = options;
    this.priority = options.priority ?? 50;
    this.name = options.name ?? `key-server ${base.origin}`;
  }

  isReady(): boolean {
    return true;
  }

  matches(request: KeyRequest): boolean {
    return this.#options.kids === undefined || this.#options.kids.includes(request.kid ?? "");
  }

  async unwrapDataKeys(
    request: DataKeyRequest,
    wrapped: readonly WrappedDataKey[],
  ): Promise<Buffer[]> {
    const file = request.file;
    if (file === undefined || file.tensors.length !== wrapped.length) {
      throw new CryptoTensorsError(
        "ERR_NOT_SUPPORTED",
        `${this.name} releases keys only when a file is opened (openFile/loadFile/openModel), not for this operation`,
      );
    }
    const licence =
      typeof this.#options.licence === "string"
        ? this.#options.licence
        : await this.#options.licence();
    const client = ephemeralKey();
    const nonce = freshNonce();
    const header = Buffer.from(file.header.buffer, file.header.byteOffset, file.header.byteLength);
    const body: ReleaseRequest = {
      v: RELEASE_VERSION,
      licence,
      header: header.toString("base64url"),
      size: file.size,
      tensors: [...file.tensors],
      pub: client.publicKey.toString("base64url"),
      nonce: nonce.toString("base64url"),
      ...(this.#options.info === undefined ? {} : { info: this.#options.info }),
    };
    const answer = await this.#post(JSON.stringify(body));
    return openDataKeys(answer, {
      digest: headerDigest(file.header),
      tensors: file.tensors,
      client,
      nonce,
      keyLength: keyLength(parseAlgorithm(request.alg)),
    });
  }

  async #post(body: string): Promise<unknown> {
    const retries = this.#options.retries ?? 2;
    let delay = this.#options.retryDelayMs ?? 200;
    let last: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
      try {
        return await this.#attempt(body);
      } catch (error) {
        if (!(error instanceof Retryable)) throw error;
        last = error.cause;
      }
    }
    const timedOut = last instanceof Error && last.name === "TimeoutError";
    throw unreachable(
      `the key server ${this.#endpoint.origin} ${timedOut ? `did not answer within ${this.#options.timeoutMs ?? 10_000} ms` : "could not be reached"} (${retries + 1} attempts); check the URL and that the service runs`,
      last,
    );
  }

  async #attempt(body: string): Promise<unknown> {
    let response: Response;
    let text: string;
    const signal = AbortSignal.timeout(this.#options.timeoutMs ?? 10_000);
    try {
      response = await fetch(this.#endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal,
        redirect: "error",
      });
      text = await readLimited(response, this.#options.maxResponseBytes ?? 8 * 1024 * 1024);
    } catch (error) {
      if (error instanceof CryptoTensorsError) throw error;
      throw new Retryable("network", { cause: error });
    }
    if (response.status >= 500)
      throw new Retryable("server", { cause: new Error(`HTTP ${response.status}`) });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CryptoTensorsError(
        "ERR_KEY_RELEASE_PROTOCOL",
        `the key server answered HTTP ${response.status} with something other than JSON`,
      );
    }
    if (response.status === 200) return parsed;
    throw refusalError(response.status, parsed);
  }
}

async function readLimited(response: Response, limit: number): Promise<string> {
  if (Number(response.headers.get("content-length") ?? "0") > limit) {
    await response.body?.cancel();
    throw new CryptoTensorsError(
      "ERR_KEY_RELEASE_PROTOCOL",
      `the key server's answer exceeds ${limit} bytes`,
    );
  }
  const buffer = Buffer.from(await response.arrayBuffer());
  if (buffer.length > limit)
    throw new CryptoTensorsError(
      "ERR_KEY_RELEASE_PROTOCOL",
      `the key server's answer exceeds ${limit} bytes`,
    );
  return buffer.toString("utf8");
}

/** The typed error of a refusal; only codes this library defines are passed on. */
function refusalError(status: number, body: unknown): CryptoTensorsError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === "string" ? error.code : "";
  const message = typeof error?.message === "string" ? error.message.slice(0, 500) : "";
  if (code in ERROR_CODES && code !== "ERR_INTERNAL")
    return new CryptoTensorsError(code as ErrorCode, `key server: ${message}`);
  return new CryptoTensorsError(
    "ERR_KEY_RELEASE_PROTOCOL",
    `the key server answered HTTP ${status} without a known error code`,
  );
}
