// The one streaming writer behind saveFile, encryptFile and decryptFile: plans the layout, writes
// the data section piece by piece (sealing it when asked) into a temporary file, then writes the
// final, signed header in front and renames the file into place.
import { createCipheriv, type CipherGCMTypes } from "node:crypto";
import { CryptoTensorsError } from "../errors.js";
import { nodeCipherName } from "../crypto/algorithms.js";
import { chunkIv } from "../crypto/chunks.js";
import { signaturePayload } from "../crypto/signature.js";
import type { Dtype } from "../format/dtype.js";
import { planLayout, serializeHeader } from "../format/serialize.js";
import { writeAtomically, type AtomicFile } from "./atomic-file.js";
import { nativeSealer, sealTensorNative } from "./seal-chunks.js";
import {
  encryptionText,
  planSealing,
  wipeSealPlan,
  type EncryptionOptions,
  type SealedSlot,
  type SealPlan,
} from "./seal-plan.js";

/** A tensor to write, whose plaintext bytes are produced on demand. */
export interface TensorSource {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
  /** Plaintext bytes `[start, end)`: fills `scratch` (at least `end - start` long) or returns a view of its own. */
  read(start: number, end: number, scratch: Uint8Array): Promise<Uint8Array>;
}

export interface Progress {
  tensor: string;
  bytesDone: number;
  bytesTotal: number;
}

export interface WriteOptions {
  /** User metadata; reserved `__…__` CryptoTensors entries are not allowed here. */
  metadata?: ReadonlyArray<[string, string]>;
  encryption?: EncryptionOptions;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
}

/** Plain and v1 tensors are streamed in pieces of this size; v2 tensors chunk by chunk. */
const PIECE_SIZE = 8 * 1024 * 1024;
// Stands in for the signature while the data is written: same 88 base64 characters, so the header
// length does not change when the real signature replaces it.
const DRAFT_SIGNATURE = `${"A".repeat(86)}==`;

export async function writeModel(
  path: string,
  sources: readonly TensorSource[],
  options: WriteOptions = {},
): Promise<void> {
  const byName = new Map(sources.map((s) => [s.name, s]));
  const layout = planLayout(sources);
  const plan = options.encryption ? await planSealing(options.encryption, layout) : null;
  try {
    const metadata = plan
      ? [...(options.metadata ?? []), ...reservedEntries(plan, DRAFT_SIGNATURE)]
      : options.metadata;
    const draft = serializeHeader(layout, metadata ?? null);
    const bytesTotal = layout.reduce((sum, t) => sum + t.dataOffsets[1] - t.dataOffsets[0], 0);
    await writeAtomically(path, async (out) => {
      let bytesDone = 0;
      for (const tensor of layout) {
        checkAborted(options.signal, path);
        const source = byName.get(tensor.name) as TensorSource;
        const [begin, end] = tensor.dataOffsets;
        const before = bytesDone;
        const step = (done: number) => {
          checkAborted(options.signal, path);
          if (done > 0)
            options.onProgress?.({ tensor: tensor.name, bytesDone: before + done, bytesTotal });
        };
        await writeTensor(
          out,
          draft.length + begin,
          end - begin,
          source,
          plan?.slots.get(tensor.name),
          plan,
          step,
        );
        bytesDone += end - begin;
        options.onProgress?.({ tensor: tensor.name, bytesDone, bytesTotal });
      }
      let header = draft;
      if (plan) {
        // The tags are known now: rebuild the reserved entries, sign, and check the length held.
        const unsigned = [...(options.metadata ?? []), ...reservedEntries(plan, null)];
        const signature = await plan.signer.sign(signaturePayload(unsigned, layout));
        header = serializeHeader(layout, [...unsigned, ["__signature__", signature]]);
        if (header.length !== draft.length) {
          throw new CryptoTensorsError(
            "ERR_INTERNAL",
            "the signed header changed length after the data was written",
          );
        }
      }
      await out.write(header, 0);
    });
  } finally {
    wipeSealPlan(plan);
  }
}

function reservedEntries(plan: SealPlan, signature: string | null): Array<[string, string]> {
  const entries: Array<[string, string]> = [
    ["__crypto_keys__", plan.cryptoKeysText],
    ["__encryption__", encryptionText(plan)],
    ["__policy__", plan.policyText],
  ];
  if (signature !== null) entries.push(["__signature__", signature]);
  return entries;
}

async function writeTensor(
  out: AtomicFile,
  position: number,
  length: number,
  source: TensorSource,
  slot: SealedSlot | undefined,
  plan: SealPlan | null,
  /** Called before each piece with the tensor's bytes done so far (abort check, progress). */
  step: (bytesDone: number) => void,
): Promise<void> {
  const native = slot && plan?.chunkSize && length > 0 ? nativeSealer() : null;
  if (native && slot && plan) {
    await sealTensorNative(native, out, position, length, source, slot, plan, step);
    return;
  }
  const pieceSize = slot && plan?.chunkSize ? plan.chunkSize : PIECE_SIZE;
  const scratch = new Uint8Array(Math.min(pieceSize, Math.max(length, 1)));
  // v1: one AEAD over the whole tensor, fed piece by piece (FORMAT.md §3.3).
  const whole =
    slot && plan && plan.chunkSize === null && length > 0
      ? createCipheriv(
          nodeCipherName(plan.algorithm) as CipherGCMTypes,
          slot.dataKey,
          slot.entry.iv as Buffer,
          { authTagLength: 16 },
        )
      : null;
  if (slot && plan && plan.chunkSize !== null && length === 0) {
    // v2 empty tensor: one seal of the empty string with IV = base_iv (FORMAT.md §3.5).
    sealChunk(plan, slot, 0, new Uint8Array(0));
  }
  try {
    for (let offset = 0, index = 0; offset < length; offset += pieceSize, index++) {
      step(offset);
      const end = Math.min(length, offset + pieceSize);
      const plain = await readPiece(source, offset, end, scratch);
      let bytes: Uint8Array = plain;
      if (whole) bytes = whole.update(plain);
      else if (slot && plan) bytes = sealChunk(plan, slot, index, plain);
      await out.write(bytes, position + offset);
    }
    if (whole) {
      whole.final();
      slot!.entry.tag = whole.getAuthTag();
    }
  } finally {
    scratch.fill(0);
  }
}

function sealChunk(plan: SealPlan, slot: SealedSlot, index: number, plain: Uint8Array): Buffer {
  const cipher = createCipheriv(
    nodeCipherName(plan.algorithm) as CipherGCMTypes,
    slot.dataKey,
    chunkIv(slot.entry.baseIv as Buffer, index),
    { authTagLength: 16 },
  );
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  cipher.getAuthTag().copy(slot.entry.tags as Buffer, index * 16);
  return sealed;
}

/** Plaintext `[start, end)` of a source, checked for length. */
export async function readPiece(
  source: TensorSource,
  start: number,
  end: number,
  scratch: Uint8Array,
): Promise<Uint8Array> {
  const plain = await source.read(start, end, scratch);
  if (plain.length !== end - start)
    throw new CryptoTensorsError("ERR_INTERNAL", `source of ${source.name} returned a short read`);
  return plain;
}

function checkAborted(signal: AbortSignal | undefined, path: string): void {
  if (signal?.aborted)
    throw new CryptoTensorsError(
      "ERR_ABORTED",
      `writing ${path} was aborted; nothing was written`,
      { cause: signal.reason },
    );
}
