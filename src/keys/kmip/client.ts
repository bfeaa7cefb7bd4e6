// A minimal KMIP 1.4 client over mutual TLS: one request message with any number of batch items
// per connection (so the data keys of a whole model are unwrapped in one round trip), answered by
// one response message. Network and TLS failures are `ERR_KEY_PROVIDER`; a failed batch item is
// reported per item with its KMIP result reason.
// node:tls is imported by the first exchange, not with the package (issue 13: resident memory).
import type { TLSSocket } from "node:tls";
import { CryptoTensorsError } from "../../errors.js";
import { child, children, decodeTtlv, encodeTtlv, TYPE, type Ttlv, ttlv } from "./ttlv.js";

/** KMIP tags and enumeration values used by this client (KMIP 1.4 §9.1.3). */
export const TAG = {
  requestMessage: 0x420078,
  requestHeader: 0x420077,
  protocolVersion: 0x420069,
  protocolVersionMajor: 0x42006a,
  protocolVersionMinor: 0x42006b,
  batchCount: 0x42000d,
  batchItem: 0x42000f,
  uniqueBatchItemId: 0x420093,
  operation: 0x42005c,
  requestPayload: 0x420079,
  responseMessage: 0x42007b,
  resultStatus: 0x42007f,
  resultReason: 0x42007e,
  resultMessage: 0x42007d,
  responsePayload: 0x42007c,
  uniqueIdentifier: 0x420094,
  data: 0x4200c2,
  ivCounterNonce: 0x42003d,
  authenticatedEncryptionTag: 0x4200ff,
  cryptographicParameters: 0x42002b,
  blockCipherMode: 0x420011,
  cryptographicAlgorithm: 0x420028,
  tagLength: 0x4200ce,
  attribute: 0x420008,
  attributeName: 0x42000a,
  attributeValue: 0x42000b,
  nameValue: 0x420055,
  nameType: 0x420054,
  objectType: 0x420057,
  templateAttribute: 0x420091,
  revocationReason: 0x420081,
  revocationReasonCode: 0x420082,
  symmetricKey: 0x42008f,
  keyBlock: 0x420040,
  keyValue: 0x420045,
  keyMaterial: 0x420043,
} as const;

export const OPERATION = {
  create: 0x01,
  locate: 0x08,
  get: 0x0a,
  activate: 0x12,
  revoke: 0x13,
  encrypt: 0x1f,
  decrypt: 0x20,
} as const;

export const REASON = {
  itemNotFound: 0x01,
  invalidField: 0x07,
  cryptographicFailure: 0x0a,
  permissionDenied: 0x0c,
} as const;

/** Where and how to reach the server. PEM contents, not paths. */
export interface KmipConnection {
  host: string;
  port: number;
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  /** Per request (connect + answer), default 10 s. */
  timeoutMs?: number;
}

/** One batch item's outcome. */
export type BatchResult =
  | { ok: true; payload: Ttlv | undefined }
  | { ok: false; reason: number; message: string };

/** The largest response accepted (a response to 1,000 decrypts is ~100 KB). */
const MAX_RESPONSE = 64 * 1024 * 1024;

/**
 * Sends one request message with `items` as its batch and returns each item's result, in order.
 *
 * @example
 * ```ts
 * const [result] = await kmipRequest(conn, [{ operation: OPERATION.locate, payload: [...] }]);
 * ```
 */
export async function kmipRequest(
  conn: KmipConnection,
  items: ReadonlyArray<{ operation: number; payload: Ttlv[] }>,
): Promise<BatchResult[]> {
  const message = ttlv.struct(TAG.requestMessage, [
    ttlv.struct(TAG.requestHeader, [
      ttlv.struct(TAG.protocolVersion, [
        ttlv.int(TAG.protocolVersionMajor, 1),
        ttlv.int(TAG.protocolVersionMinor, 4),
      ]),
      ttlv.int(TAG.batchCount, items.length),
    ]),
    ...items.map((item, index) =>
      ttlv.struct(TAG.batchItem, [
        ttlv.enum(TAG.operation, item.operation),
        // Required once a message has several items; the answer is matched by it.
        ttlv.bytes(TAG.uniqueBatchItemId, batchId(index)),
        ttlv.struct(TAG.requestPayload, item.payload),
      ]),
    ),
  ]);
  const request = encodeTtlv(message);
  let response: Buffer;
  try {
    response = await exchange(conn, request);
  } finally {
    request.fill(0); // an Encrypt request carries plaintext data keys
  }
  let item: Ttlv;
  try {
    // Byte strings are copied out by the decoder; the raw answer (plaintext data keys of a
    // Decrypt) is wiped here.
    item = decodeTtlv(response).item;
  } finally {
    response.fill(0);
  }
  if (item.tag !== TAG.responseMessage || item.type !== TYPE.structure) {
    throw new CryptoTensorsError(
      "ERR_KEY_PROVIDER",
      "the KMIP server did not answer with a response message",
    );
  }
  const batch = children(item, TAG.batchItem);
  // With the default batch error option (Stop) the server answers up to the first failed item.
  const stopped = batch.length < items.length && child(batch.at(-1), TAG.resultStatus)?.value !== 0;
  if (batch.length !== items.length && !stopped) {
    throw new CryptoTensorsError(
      "ERR_KEY_PROVIDER",
      `the KMIP server answered ${batch.length} batch item(s) for ${items.length}`,
    );
  }
  return batch.map((entry, index) => {
    const id = child(entry, TAG.uniqueBatchItemId)?.value;
    if (!Buffer.isBuffer(id) || !id.equals(batchId(index))) {
      throw new CryptoTensorsError(
        "ERR_KEY_PROVIDER",
        "the KMIP server answered the batch items out of order or without their ids",
      );
    }
    const status = child(entry, TAG.resultStatus)?.value;
    if (status === 0) return { ok: true, payload: child(entry, TAG.responsePayload) };
    const reason = child(entry, TAG.resultReason)?.value;
    const text = child(entry, TAG.resultMessage)?.value;
    return {
      ok: false,
      reason: typeof reason === "number" ? reason : 0,
      message: typeof text === "string" ? text.slice(0, 200) : "no message",
    };
  });
}

function batchId(index: number): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(index);
  return id;
}

async function exchange(conn: KmipConnection, request: Buffer): Promise<Buffer> {
  const where = `${conn.host}:${conn.port}`;
  const { connect } = await import("node:tls");
  return new Promise((resolve, reject) => {
    let settled = false;
    let buffered = Buffer.alloc(0);
    const socket: TLSSocket = connect({
      host: conn.host,
      port: conn.port,
      cert: conn.cert,
      key: conn.key,
      ca: conn.ca,
      minVersion: "TLSv1.2",
      rejectUnauthorized: true,
    });
    const finish = (error: Error | null, value?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) buffered.fill(0);
      if (error) reject(error);
      else resolve(value as Buffer);
    };
    const timer = setTimeout(
      () =>
        finish(
          providerError(
            `the KMIP server ${where} did not answer within ${conn.timeoutMs ?? 10_000} ms`,
          ),
        ),
      conn.timeoutMs ?? 10_000,
    );
    socket.once("secureConnect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      // One growing buffer; each copy it replaces is wiped (answers carry plaintext data keys).
      const grown = Buffer.concat([buffered, chunk]);
      buffered.fill(0);
      chunk.fill(0);
      buffered = grown;
      if (buffered.length < 8) return;
      const total = 8 + buffered.readUInt32BE(4);
      if (total > MAX_RESPONSE)
        finish(providerError(`the KMIP server ${where} sent an oversized response`));
      else if (buffered.length >= total) finish(null, buffered.subarray(0, total));
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      finish(
        providerError(
          `cannot talk to the KMIP server ${where} (${error.code ?? error.name}): check that it runs and that the client certificate, key and CA are the right ones`,
          error,
        ),
      );
    });
    socket.on("close", () =>
      finish(
        providerError(
          `the KMIP server ${where} closed the connection without an answer (a refused client certificate looks like this)`,
        ),
      ),
    );
  });
}

function providerError(message: string, cause?: unknown): CryptoTensorsError {
  return new CryptoTensorsError(
    "ERR_KEY_PROVIDER",
    message,
    cause === undefined ? undefined : { cause },
  );
}
