// Jazzer.js target: the pure format core. Input is a whole file; the first byte also routes a
// copy of the header text through the parsers of the reserved entries (their JSON-in-JSON) or
// the JWK set parser (what CRYPTOTENSOR_KEYS and key files hold).
// The only acceptable outcome besides success is a CryptoTensorsError: anything else (TypeError,
// RangeError, stack overflow) is a finding and is rethrown so the fuzzer records it.
import { CryptoTensorsError } from "../../src/errors.js";
import { parseSafetensors } from "../../src/format/header.js";
import { parseCryptoKeys, parseEncryption, parsePolicy } from "../../src/crypto/reserved.js";
import { parseKeySet } from "../../src/keys/keyring.js";

const utf8 = new TextDecoder("utf-8", { fatal: false });
/** JSON first (its SyntaxError is not ours), then the key set: only typed errors may follow. */
function parseKeySetText(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return parseKeySet(value).wipe();
}
const RESERVED_PARSERS = [parseCryptoKeys, parseEncryption, parsePolicy, parseKeySetText] as const;

function expectTyped(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof CryptoTensorsError)) throw error;
  }
}

/**
 * The fuzz entry point jazzer calls with each input.
 *
 * @example
 * ```ts
 * fuzz(Buffer.from("{}")); // returns; a TypeError from the parser would be rethrown
 * ```
 */
export function fuzz(data: Buffer): void {
  expectTyped(() => {
    const header = parseSafetensors(new Uint8Array(data.buffer, data.byteOffset, data.length));
    // Whatever parses is consistent: contiguous offsets ending exactly at the end of the file.
    let end = 0;
    for (const tensor of header.tensors) {
      if (tensor.dataOffsets[0] !== end) throw new Error(`accepted a gap before ${tensor.name}`);
      end = tensor.dataOffsets[1];
    }
    if (header.dataStart + end !== data.length)
      throw new Error("accepted a data section of the wrong length");
  });
  if (data.length > 0) {
    const parser = RESERVED_PARSERS[(data[0] as number) % RESERVED_PARSERS.length] as (
      text: string,
    ) => unknown;
    expectTyped(() => parser(utf8.decode(data.subarray(1))));
  }
}
