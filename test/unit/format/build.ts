// Hand-built safetensors files for the format tests: an explicit N, raw header text, raw data.

/** `[N LE u64][header bytes][data]`; N defaults to the header's byte length. */
export function buildFile(
  header: string | Uint8Array,
  data: Uint8Array | number = 0,
  n?: bigint,
): Uint8Array {
  const headerBytes = typeof header === "string" ? new TextEncoder().encode(header) : header;
  const dataBytes = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + headerBytes.length + dataBytes.length);
  new DataView(out.buffer).setBigUint64(0, n ?? BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(dataBytes, 8 + headerBytes.length);
  return out;
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
