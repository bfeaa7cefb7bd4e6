// The one streaming writer behind saveFile, encryptFile and decryptFile: plans the layout, writes
// the data section piece by piece (sealing it when asked) into a temporary file, then writes the
// final, signed header in front and renames the file into place.
import { CryptoTensorsError } from "../errors.js";
import {
  DIGEST_LENGTH,
  PLAINTEXT_DIGESTS_KEY,
  serializeDigests,
  tensorHasher,
} from "../crypto/plaintext-digests.js";
import { signaturePayload } from "../crypto/signature.js";
import { planLayout, serializeHeader } from "../format/serialize.js";
import { type BackendChoice, getBackend } from "../native/index.js";
import { writeAtomicallyPrepared } from "../io/durable-file.js";
import { type SectionTensor, writeDataSection } from "./data-section.js";
import {
  encryptionText,
  planSealing,
  wipeSealPlan,
  type EncryptionOptions,
  type SealPlan,
} from "./seal-plan.js";
import type { TensorSource } from "./tensor-source.js";

export type { TensorSource };

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
  /** Permission bits of the written file (default 0o644); it is 0600 while being written. */
  mode?: number;
  /** Backend that seals the data: default the native addon, or node:crypto if it cannot load. */
  backend?: BackendChoice;
}

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
  const bytesTotal = layout.reduce((sum, t) => sum + t.dataOffsets[1] - t.dataOffsets[0], 0);
  let plan: SealPlan | null = null;
  try {
    // The seal plan and the draft header (keys parsed, data keys and IVs drawn, ~5-10 ms for a
    // few hundred tensors) are built while the temporary file is being created.
    await writeAtomicallyPrepared(
      path,
      async () => {
        plan = options.encryption ? await planSealing(options.encryption, layout) : null;
        // Resolved for plain files too: a failed addon load warns the same way on every path.
        const backend = getBackend(options.backend);
        // The plaintext tensors of a partially encrypted file get a signed SHA-256 each (the
        // reference signs only their offsets); the draft holds same-length placeholders.
        const digests = plan ? plaintextDigestSlots(layout, plan) : null;
        const metadata = plan
          ? [...(options.metadata ?? []), ...reservedEntries(plan, digests, DRAFT_SIGNATURE)]
          : options.metadata;
        return { plan, backend, digests, draft: serializeHeader(layout, metadata ?? null) };
      },
      async (out, { plan, backend, digests, draft }) => {
        let bytesDone = 0;
        const section: SectionTensor[] = layout.map((tensor) => ({
          name: tensor.name,
          position: draft.length + tensor.dataOffsets[0],
          length: tensor.dataOffsets[1] - tensor.dataOffsets[0],
          source: byName.get(tensor.name) as TensorSource,
          slot: plan?.slots.get(tensor.name),
          hash: digests?.get(tensor.name)?.hash,
        }));
        checkAborted(options.signal, path);
        // The key wraps left for later (seal-plan.ts wrapKeys), started once the first batch is
        // on its way; never unhandled (allDone awaits it, and nothing waits for it on failure).
        let wrapping: Promise<void> | null = null;
        await writeDataSection(out, backend, plan, section, {
          firstWrite: () => {
            if (!plan) return;
            wrapping = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
              plan.wrapKeys(),
            );
            wrapping.catch(() => undefined);
          },
          step: (tensor, done) => {
            checkAborted(options.signal, path);
            if (done > 0)
              options.onProgress?.({
                tensor: tensor.name,
                bytesDone: bytesDone + done,
                bytesTotal,
              });
          },
          tensorDone: (tensor) => {
            const hasher = digests?.get(tensor.name);
            if (hasher) hasher.result = hasher.hash.digest();
            bytesDone += tensor.length;
            options.onProgress?.({ tensor: tensor.name, bytesDone, bytesTotal });
          },
          // Signed and written while the last data batches are still going to disk.
          allDone: async () => {
            let header = draft;
            if (plan) {
              await (wrapping ?? plan.wrapKeys());
              // The tags are known now: rebuild the reserved entries, sign, check the length held.
              const unsigned = [
                ...(options.metadata ?? []),
                ...reservedEntries(plan, digests, null),
              ];
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
          },
        });
      },
      options.mode === undefined ? {} : { mode: options.mode },
    );
  } finally {
    wipeSealPlan(plan);
  }
}

interface DigestSlot {
  hash: ReturnType<typeof tensorHasher>;
  result: Buffer | null;
}

/** A hasher per plaintext tensor of an encrypted save; null when every tensor is encrypted. */
function plaintextDigestSlots(
  layout: ReadonlyArray<{ name: string }>,
  plan: SealPlan,
): Map<string, DigestSlot> | null {
  const plain = layout.filter((t) => !plan.slots.has(t.name));
  if (plain.length === 0) return null;
  return new Map(plain.map((t) => [t.name, { hash: tensorHasher(), result: null }]));
}

function reservedEntries(
  plan: SealPlan,
  digests: Map<string, DigestSlot> | null,
  signature: string | null,
): Array<[string, string]> {
  const entries: Array<[string, string]> = [
    ["__crypto_keys__", plan.cryptoKeysText],
    // The draft needs only the final header's length (checked when the real one is built).
    ["__encryption__", encryptionText(plan, { draft: signature === DRAFT_SIGNATURE })],
    ["__policy__", plan.policyText],
  ];
  if (digests) {
    const values = new Map(
      [...digests].map(([name, slot]) => [name, slot.result ?? Buffer.alloc(DIGEST_LENGTH)]),
    );
    entries.push([PLAINTEXT_DIGESTS_KEY, serializeDigests(values)]);
  }
  if (signature !== null) entries.push(["__signature__", signature]);
  return entries;
}

function checkAborted(signal: AbortSignal | undefined, path: string): void {
  if (signal?.aborted)
    throw new CryptoTensorsError(
      "ERR_ABORTED",
      `writing ${path} was aborted; nothing was written`,
      { cause: signal.reason },
    );
}
