// `remote.allowFullDownload`: for a server that ignores Range (it answers 200 with the whole file),
// the caller may opt in to downloading the file once instead of the refusal ERR_REMOTE_NO_RANGES.
// The body goes to a private temporary file (0600, in a 0700 directory of the OS temp dir) that is
// unlinked as soon as it is open, so nothing is left behind whatever happens next; the download
// must deliver exactly its Content-Length (a short body is retried like a range, then refused);
// the file is then read locally. Lazy loading is lost (the whole file is fetched), not checking:
// the header is still verified before any tensor is decrypted.
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ByteSource } from "./byte-source.js";
import { openFileSource } from "./file-source.js";
import type { RequestContext } from "./http-request.js";
import { network, remoteError, shortBody, statusError, Transient } from "./range-response.js";

/**
 * Downloads `ctx.url` whole into a temporary file and opens it; the returned source reports the
 * URL as its name. Retries transient failures like a range request.
 *
 * @example
 * ```ts
 * const source = await downloadWhole(ctx, signal); // after the server ignored a Range request
 * ```
 */
export async function downloadWhole(
  ctx: RequestContext,
  signal: AbortSignal | undefined,
): Promise<ByteSource> {
  const dir = await mkdtemp(join(tmpdir(), "cryptotensors-download-"));
  try {
    const path = join(dir, "file");
    let version = "";
    for (let attempt = 0; ; attempt++) {
      try {
        version = await downloadOnce(ctx, path, signal);
        break;
      } catch (error) {
        if (!(error instanceof Transient) || attempt >= ctx.retries)
          throw error instanceof Transient ? error.error : error;
        if (signal?.aborted) throw remoteError("ERR_ABORTED", `reading ${ctx.name} was aborted`);
      }
    }
    const local = await openFileSource(path);
    return {
      identity: { name: ctx.name, version },
      size: local.size,
      read: (offset, length, dest, options) => local.read(offset, length, dest, options),
      close: () => local.close(),
    };
  } finally {
    // Open files stay readable after their name is gone; a failed download leaves nothing.
    await rm(dir, { recursive: true, force: true });
  }
}

/** One GET of the whole file into `path`; resolves with the identity the server gave it. */
async function downloadOnce(
  ctx: RequestContext,
  path: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const headers = { ...(await ctx.headers()), "accept-encoding": "identity" };
  const client = ctx.url.protocol === "https:" ? https : http;
  ctx.stats.requests++;
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = client.get(ctx.url, { agent: ctx.agent, headers, signal }, resolve);
    request.setTimeout(ctx.timeoutMs, () =>
      request.destroy(
        new Transient(
          remoteError(
            "ERR_REMOTE_TIMEOUT",
            `${ctx.name}: the server sent nothing for ${ctx.timeoutMs} ms`,
          ),
        ),
      ),
    );
    request.once("error", (error) =>
      reject(
        error instanceof Transient
          ? error
          : signal?.aborted
            ? remoteError("ERR_ABORTED", `reading ${ctx.name} was aborted`, signal.reason)
            : network(ctx, error),
      ),
    );
  });
  const status = response.statusCode ?? 0;
  if (status !== 200) {
    response.destroy();
    throw (
      statusError(ctx, { size: 0 }, status, response) ??
      remoteError("ERR_REMOTE_HTTP", `${ctx.name}: the server answered ${status}`)
    );
  }
  const declared = response.headers["content-length"];
  const expected = declared !== undefined && /^\d{1,16}$/.test(declared) ? Number(declared) : null;
  let received = 0;
  response.on("data", (bytes: Buffer) => {
    received += bytes.length;
    ctx.stats.bytes += bytes.length;
  });
  try {
    await pipeline(response, createWriteStream(path, { mode: 0o600 }), { signal });
  } catch (error) {
    if (signal?.aborted)
      throw remoteError("ERR_ABORTED", `reading ${ctx.name} was aborted`, signal.reason);
    const syscall = (error as { syscall?: unknown }).syscall;
    if (syscall === "open" || syscall === "write")
      throw remoteError(
        "ERR_IO",
        `${ctx.name}: cannot write the download to a temporary file (${(error as Error).message})`,
        error,
      );
    throw shortBody(ctx, received, expected ?? received + 1);
  }
  if (expected !== null && received !== expected) throw shortBody(ctx, received, expected);
  const etag = response.headers.etag;
  const lastModified = response.headers["last-modified"];
  return `${etag ?? lastModified ?? "download"}:${received}`;
}
