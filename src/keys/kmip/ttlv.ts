// KMIP's TTLV encoding (KMIP 1.4 §9.1): 3-byte tag, 1-byte type, 4-byte big-endian length, the
// value padded with zeros to a multiple of 8. Only the types this client sends or reads are
// encoded; decoding is strict (lengths checked against the buffer, nesting bounded) because the
// bytes come from the network.
import { CryptoTensorsError } from "../../errors.js";

/** The TTLV item types used here. */
export const TYPE = {
  structure: 0x01,
  integer: 0x02,
  longInteger: 0x03,
  enumeration: 0x05,
  boolean: 0x06,
  text: 0x07,
  bytes: 0x08,
  dateTime: 0x09,
  interval: 0x0a,
} as const;

/** A decoded or to-be-encoded TTLV item. */
export type Ttlv =
  | { tag: number; type: typeof TYPE.structure; value: Ttlv[] }
  | {
      tag: number;
      type: typeof TYPE.integer | typeof TYPE.enumeration | typeof TYPE.interval;
      value: number;
    }
  | { tag: number; type: typeof TYPE.longInteger | typeof TYPE.dateTime; value: bigint }
  | { tag: number; type: typeof TYPE.boolean; value: boolean }
  | { tag: number; type: typeof TYPE.text; value: string }
  | { tag: number; type: typeof TYPE.bytes; value: Buffer }
  | { tag: number; type: number; value: Buffer };

/** Builders for the items a request is made of. */
export const ttlv = {
  struct: (tag: number, value: Ttlv[]): Ttlv => ({ tag, type: TYPE.structure, value }),
  int: (tag: number, value: number): Ttlv => ({ tag, type: TYPE.integer, value }),
  enum: (tag: number, value: number): Ttlv => ({ tag, type: TYPE.enumeration, value }),
  text: (tag: number, value: string): Ttlv => ({ tag, type: TYPE.text, value }),
  bytes: (tag: number, value: Buffer): Ttlv => ({ tag, type: TYPE.bytes, value }),
};

const MAX_DEPTH = 16;

/**
 * Encodes one item.
 *
 * @example
 * ```ts
 * encodeTtlv(ttlv.int(0x42006a, 1)); // 42006a02 00000004 00000001 00000000
 * ```
 */
export function encodeTtlv(item: Ttlv): Buffer {
  let value: Buffer;
  switch (item.type) {
    case TYPE.structure:
      value = Buffer.concat((item.value as Ttlv[]).map(encodeTtlv));
      break;
    case TYPE.integer:
    case TYPE.enumeration:
    case TYPE.interval:
      value = Buffer.alloc(4);
      value.writeUInt32BE((item.value as number) >>> 0);
      break;
    case TYPE.longInteger:
    case TYPE.dateTime:
      value = Buffer.alloc(8);
      value.writeBigInt64BE(item.value as bigint);
      break;
    case TYPE.boolean:
      value = Buffer.alloc(8);
      value[7] = item.value ? 1 : 0;
      break;
    case TYPE.text:
      value = Buffer.from(item.value as string, "utf8");
      break;
    default:
      value = item.value as Buffer;
  }
  const padded = Math.ceil(value.length / 8) * 8;
  const out = Buffer.alloc(8 + padded);
  out.writeUIntBE(item.tag, 0, 3);
  out[3] = item.type;
  out.writeUInt32BE(value.length, 4);
  value.copy(out, 8);
  return out;
}

/**
 * Decodes one item from the start of `bytes`; malformed input is `ERR_KEY_PROVIDER` (the server
 * answered something that is not KMIP).
 *
 * @example
 * ```ts
 * const { item, length } = decodeTtlv(responseBytes);
 * ```
 */
export function decodeTtlv(bytes: Buffer, depth = 0): { item: Ttlv; length: number } {
  if (depth > MAX_DEPTH) bad("nesting too deep");
  if (bytes.length < 8) bad("truncated item");
  const tag = bytes.readUIntBE(0, 3);
  const type = bytes[3] as number;
  const length = bytes.readUInt32BE(4);
  const padded = type === TYPE.structure ? length : Math.ceil(length / 8) * 8;
  if (8 + padded > bytes.length) bad("item runs past the message");
  const raw = bytes.subarray(8, 8 + length);
  let item: Ttlv;
  switch (type) {
    case TYPE.structure: {
      const children: Ttlv[] = [];
      let at = 0;
      while (at < raw.length) {
        const child = decodeTtlv(raw.subarray(at), depth + 1);
        children.push(child.item);
        at += child.length;
      }
      item = { tag, type, value: children };
      break;
    }
    case TYPE.integer:
    case TYPE.enumeration:
    case TYPE.interval:
      if (length !== 4) bad("integer of the wrong length");
      item = { tag, type, value: raw.readUInt32BE(0) };
      break;
    case TYPE.longInteger:
    case TYPE.dateTime:
      if (length !== 8) bad("long integer of the wrong length");
      item = { tag, type, value: raw.readBigInt64BE(0) };
      break;
    case TYPE.boolean:
      if (length !== 8) bad("boolean of the wrong length");
      item = { tag, type, value: raw.readBigUInt64BE(0) !== 0n };
      break;
    case TYPE.text:
      item = { tag, type, value: raw.toString("utf8") };
      break;
    default:
      item = { tag, type, value: Buffer.from(raw) };
  }
  return { item, length: 8 + padded };
}

/** The first child of a structure with `tag`, or undefined. */
export function child(item: Ttlv | undefined, tag: number): Ttlv | undefined {
  if (!item || item.type !== TYPE.structure) return undefined;
  return (item.value as Ttlv[]).find((c) => c.tag === tag);
}

/** Every child of a structure with `tag`. */
export function children(item: Ttlv | undefined, tag: number): Ttlv[] {
  if (!item || item.type !== TYPE.structure) return [];
  return (item.value as Ttlv[]).filter((c) => c.tag === tag);
}

function bad(what: string): never {
  throw new CryptoTensorsError(
    "ERR_KEY_PROVIDER",
    `the KMIP server sent a malformed message (${what})`,
  );
}
