// The key-release service over HTTP (node:http): POST /v1/release with a JSON request, answered
// with a sealed release (200) or a typed refusal { error: { code, message } }. Bodies are
// bounded, slow clients are cut off, and internal errors never reach the client in detail.
// node:http is imported when a server starts, not with the package (issue 13: resident memory).
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CryptoTensorsError } from "../errors.js";
import { KeyRelease, type KeyReleaseOptions } from "./key-release.js";
import { RELEASE_PATH } from "./protocol.js";

/** Options of {@link startKeyServer}. */
export interface KeyServerOptions extends KeyReleaseOptions {
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; default 0 (any free port). */
  port?: number;
  /** Largest request body; default 16 MiB (a header of ~12 MiB). */
  maxRequestBytes?: number;
  /** Time a client has to send its whole request; default 10 s. */
  requestTimeoutMs?: number;
}

/** A running key server. */
export interface KeyServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly server: Server;
  /** Stops accepting and closes idle connections; resolves when closed. */
  close(): Promise<void>;
}

const STATUS: Partial<Record<string, number>> = {
  ERR_KEY_RELEASE_PROTOCOL: 400,
  ERR_LICENCE_INVALID: 401,
  ERR_LICENCE_EXPIRED: 401,
  ERR_LICENCE_NOT_YET_VALID: 401,
  ERR_LICENCE_AUDIENCE: 401,
  ERR_LICENCE_REVOKED: 403,
  ERR_KEY_RELEASE_DENIED: 403,
  ERR_SIGNATURE_INVALID: 403,
  ERR_MISSING_SIGNATURE: 403,
  ERR_KEY_UNTRUSTED: 403,
  ERR_KEY_NOT_FOUND: 403,
  ERR_DECRYPTION_FAILED: 403,
};

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...extra,
  });
  res.end(text);
}

function refusal(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof CryptoTensorsError) {
    const status = STATUS[error.code];
    if (status !== undefined) return { status, code: error.code, message: error.message };
    // Header validation errors: the client sent a header this service cannot read.
    if (
      /^ERR_(HEADER|TENSOR|INVALID|METADATA|VALIDATION|CRYPTO_KEYS|ENCRYPTION|POLICY_MISSING|UNSUPPORTED|MISSING_VERSION|SIGNATURE_FORMAT)/.test(
        error.code,
      )
    )
      return { status: 400, code: error.code, message: error.message };
  }
  return { status: 500, code: "ERR_INTERNAL", message: "the key server failed; see its log" };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) return null;
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req) {
    length += (chunk as Buffer).length;
    if (length > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Starts a key-release service on loopback (or `host`).
 *
 * @example
 * ```ts
 * const server = await startKeyServer({ keys: masterJwks, publisherKeys, licenceIssuers, port: 8443 });
 * // customers: new RemoteKeyProvider({ url: server.url, licence })
 * await server.close();
 * ```
 */
export async function startKeyServer(options: KeyServerOptions): Promise<KeyServer> {
  const service = new KeyRelease(options);
  const limit = options.maxRequestBytes ?? 16 * 1024 * 1024;
  const { createServer } = await import("node:http");
  const server = createServer(async (req, res) => {
    try {
      if (req.url !== RELEASE_PATH)
        return send(res, 404, {
          error: { code: "ERR_KEY_RELEASE_PROTOCOL", message: `POST ${RELEASE_PATH}` },
        });
      if (req.method !== "POST")
        return send(
          res,
          405,
          { error: { code: "ERR_KEY_RELEASE_PROTOCOL", message: `POST ${RELEASE_PATH}` } },
          { allow: "POST" },
        );
      const body = await readBody(req, limit);
      if (body === null) {
        res.setHeader("connection", "close");
        return send(res, 413, {
          error: {
            code: "ERR_KEY_RELEASE_PROTOCOL",
            message: `the request exceeds ${limit} bytes`,
          },
        });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString("utf8"));
      } catch {
        return send(res, 400, {
          error: { code: "ERR_KEY_RELEASE_PROTOCOL", message: "the request is not JSON" },
        });
      }
      const response = await service.release(parsed, req.socket.remoteAddress ?? "unknown");
      send(res, 200, response);
    } catch (error) {
      const { status, code, message } = refusal(error);
      if (status === 500)
        process.emitWarning(
          `key server: ${error instanceof Error ? error.name : "error"} while answering a release`,
        );
      if (!res.headersSent) send(res, status, { error: { code, message } });
      else res.destroy();
    }
  });
  server.requestTimeout = options.requestTimeoutMs ?? 10_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
