// Binds the shards of a model into one signed unit (docs/sharded-models.md). Each shard's signed
// `__metadata__` carries four extra string fields — the model's set id (fresh random per save),
// the SHA-256 of the model's manifest (every shard's file name and tensors), the shard's position
// and the shard count — so the reference still reads every shard on its own, and a reader that
// checks them refuses a missing, extra, swapped, replayed or mixed shard and an index that
// disagrees with the shards. The index's `metadata` repeats the set id, digest and count for
// display; the index itself is never trusted: it must agree with what the shards' signatures cover.
import { createHash, randomBytes } from "node:crypto";
import { CryptoTensorsError } from "../errors.js";
import { compareUtf8, jsonString } from "../format/serialize.js";
import type { ParsedHeader } from "../format/types.js";
import { isReservedKey } from "../crypto/reserved.js";
import type { ModelLayout } from "./layout.js";

/** Names of the binding fields, in each shard's `__metadata__` and in the index's `metadata`. */
export const BINDING_FIELDS = {
  set: "cryptotensors.model.set",
  manifest: "cryptotensors.model.manifest",
  shard: "cryptotensors.model.shard",
  shards: "cryptotensors.model.shards",
} as const;
const FIELD_NAMES: readonly string[] = Object.values(BINDING_FIELDS);

/** One shard as the manifest describes it. */
export interface ManifestShard {
  file: string;
  tensors: ReadonlyArray<{
    name: string;
    dtype: string;
    shape: readonly number[];
    byteLength: number;
  }>;
}

/** What the binding checks concluded about a model. */
export interface ModelBinding {
  /** True when every shard is encrypted (and so signed). */
  encrypted: boolean;
  /** True when the shards carry the binding fields and they hold (always false for plain models). */
  bound: boolean;
  /** The model's set id (fresh for each encryption of the model), when bound. */
  setId: string | null;
  /** `sha256:<hex>` of the manifest, when bound. */
  manifest: string | null;
}

export interface BindingCheckOptions {
  /** Refuse a sharded model whose shards are not bound into one unit (`ERR_MODEL_UNBOUND`). */
  requireBoundShards?: boolean;
  /** Receives the "unbound shards" warning; default `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

/** A shard's header as read (and, when encrypted, verified) from its file. */
export interface ShardHeader {
  file: string;
  header: ParsedHeader;
}

/**
 * A fresh set id: 128 random bits, hex. Every save draws a new one, so shards of another model or
 * of an earlier encryption of this one never carry it.
 */
export function newSetId(): string {
  return randomBytes(16).toString("hex");
}

/**
 * `sha256:<hex>` of the manifest's canonical text: shards in position order, each with its file
 * name and its tensors sorted by name (name, dtype, shape, byte length), then the total size.
 *
 * @example
 * ```ts
 * manifestDigest([{ file: "model.safetensors", tensors: [{ name: "w", dtype: "F32", shape: [2], byteLength: 8 }] }]);
 * ```
 */
export function manifestDigest(shards: readonly ManifestShard[]): string {
  let total = 0;
  const parts = shards.map((shard) => {
    const tensors = [...shard.tensors]
      .sort((a, b) => compareUtf8(a.name, b.name))
      .map((t) => {
        total += t.byteLength;
        return `[${jsonString(t.name)},${jsonString(t.dtype)},[${t.shape.join(",")}],${t.byteLength}]`;
      });
    return `{"file":${jsonString(shard.file)},"tensors":[${tensors.join(",")}]}`;
  });
  const text = `{"shards":[${parts.join(",")}],"total_size":${total}}`;
  return `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`;
}

/** The binding fields of the shard at `position` (1-based) of `count`. */
export function shardBindingFields(
  setId: string,
  manifest: string,
  position: number,
  count: number,
): Record<string, string> {
  return {
    [BINDING_FIELDS.manifest]: manifest,
    [BINDING_FIELDS.set]: setId,
    [BINDING_FIELDS.shard]: String(position),
    [BINDING_FIELDS.shards]: String(count),
  };
}

/** `metadata` of an index: total size first, then the binding's set id, digest and count (if bound). */
export function indexMetadata(
  totalSize: number,
  binding: { setId: string; manifest: string; count: number } | null,
  extra: ReadonlyArray<[string, unknown]> = [],
): Array<[string, unknown]> {
  const kept = extra.filter(([key]) => key !== "total_size" && !FIELD_NAMES.includes(key));
  const bound: Array<[string, unknown]> = binding
    ? [
        [BINDING_FIELDS.manifest, binding.manifest],
        [BINDING_FIELDS.set, binding.setId],
        [BINDING_FIELDS.shards, String(binding.count)],
      ]
    : [];
  return [["total_size", totalSize], ...kept, ...bound];
}

/** User metadata without the binding fields (what a decrypted model keeps). */
export function withoutBindingFields(
  metadata: Readonly<Record<string, string>>,
): Record<string, string> {
  const result: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(metadata))
    if (!FIELD_NAMES.includes(key)) result[key] = value;
  return result;
}

/** The manifest entry of a shard, from its header. */
export function manifestShard(file: string, header: ParsedHeader): ManifestShard {
  return {
    file,
    tensors: header.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      byteLength: t.dataOffsets[1] - t.dataOffsets[0],
    })),
  };
}

/**
 * Checks that the (verified) shard headers form one model with the index: encryption, policy and
 * keys shared; weight_map and total_size equal to the shards' contents; and, when bound, one set
 * id, one manifest digest equal to the shards as found, every position from 1 to the count once.
 * Throws `ERR_MODEL_BINDING` (or `ERR_MODEL_UNBOUND`) naming the offending shard.
 *
 * @example
 * ```ts
 * const binding = checkModelBinding(layout, headers, { requireBoundShards: true });
 * ```
 */
export function checkModelBinding(
  layout: ModelLayout,
  shards: readonly ShardHeader[],
  options: BindingCheckOptions = {},
): ModelBinding {
  const where = layout.dir;
  const encryptedFlags = shards.map((s) => reserved(s.header).has("__encryption__"));
  const encrypted = encryptedFlags.every(Boolean);
  if (!encrypted && encryptedFlags.some(Boolean)) {
    const plain = shards.filter((_, i) => !encryptedFlags[i]).map((s) => s.file);
    throw binding(
      `${where} mixes encrypted and plain shards (plain: ${plain.join(", ")}): a shard was replaced by an unprotected one`,
    );
  }
  if (encrypted) checkSharedProtection(shards, where);
  const totalSize = checkWeightMap(layout, shards);

  const fields = shards.map((s) => bindingOf(s.header));
  const boundCount = fields.filter((f) => f !== null).length;
  if (boundCount === 0) {
    checkTotalSize(layout, totalSize, false, options);
    if (shards.length > 1 || layout.index !== null) {
      const message = `${where}: the ${shards.length} shard(s) are ${encrypted ? "signed one by one" : "plain"}, not bound into one model; a shard could be swapped, dropped or replayed without any signature failing`;
      if (options.requireBoundShards)
        throw new CryptoTensorsError(
          "ERR_MODEL_UNBOUND",
          `${message}. requireBoundShards is set: re-encrypt the model with cryptotensors to bind it`,
        );
      if (encrypted) warn(options, `unbound shards: ${message}`);
    }
    return { encrypted, bound: false, setId: null, manifest: null };
  }
  if (!encrypted)
    throw binding(
      `${where}: plain shards carry binding fields, which only a signature makes meaningful`,
    );
  const unbound = shards.filter((_, i) => fields[i] === null).map((s) => s.file);
  if (unbound.length > 0)
    throw binding(
      `${unbound.join(", ")} in ${where} is not bound to the model the other shards belong to`,
    );

  const first = fields[0] as BindingOf;
  const positions = new Map<number, ShardHeader>();
  shards.forEach((shard, i) => {
    const f = fields[i] as BindingOf;
    if (f.setId !== first.setId || f.manifest !== first.manifest)
      throw binding(
        `${shard.file} belongs to another model or another version of this one (set ${f.setId}, expected ${first.setId})`,
      );
    if (f.count !== first.count)
      throw binding(`${shard.file} claims ${f.count} shards where the others claim ${first.count}`);
    if (positions.has(f.position))
      throw binding(
        `${shard.file} and ${positions.get(f.position)?.file} both claim position ${f.position}`,
      );
    positions.set(f.position, shard);
  });
  const missing: number[] = [];
  for (let p = 1; p <= first.count; p++) if (!positions.has(p)) missing.push(p);
  if (missing.length > 0)
    throw binding(
      `${where} lacks shard(s) ${missing.join(", ")} of ${first.count} of the signed model`,
    );
  if (shards.length !== first.count)
    throw binding(`${where} has ${shards.length} shards but the signed model has ${first.count}`);
  const ordered = [...positions.entries()].sort(([a], [b]) => a - b).map(([, s]) => s);
  const actual = manifestDigest(ordered.map((s) => manifestShard(s.file, s.header)));
  if (actual !== first.manifest) {
    throw binding(
      `the shards of ${where} or their file names differ from the signed model (a shard was swapped or renamed): manifest ${actual}, signed ${first.manifest}`,
    );
  }
  checkTotalSize(layout, totalSize, true, options);
  checkIndexFields(layout, first);
  return { encrypted, bound: true, setId: first.setId, manifest: first.manifest };
}

interface BindingOf {
  setId: string;
  manifest: string;
  position: number;
  count: number;
}

function bindingOf(header: ParsedHeader): BindingOf | null {
  const metadata = new Map(header.metadata ?? []);
  const values = FIELD_NAMES.map((name) => metadata.get(name));
  if (values.every((v) => v === undefined)) return null;
  const [setId, manifest, shard, shards] = values;
  const position = Number(shard);
  const count = Number(shards);
  if (
    !setId ||
    !manifest?.startsWith("sha256:") ||
    !/^[1-9][0-9]{0,8}$/.test(shard ?? "") ||
    !/^[1-9][0-9]{0,8}$/.test(shards ?? "") ||
    position > count
  ) {
    throw binding(
      `a shard's binding fields are incomplete or malformed (${FIELD_NAMES.join(", ")})`,
    );
  }
  return { setId, manifest, position, count };
}

function checkSharedProtection(shards: readonly ShardHeader[], where: string): void {
  const [first, ...rest] = shards as [ShardHeader, ...ShardHeader[]];
  const base = reserved(first.header);
  for (const shard of rest) {
    const entries = reserved(shard.header);
    for (const key of ["__crypto_keys__", "__policy__"] as const) {
      if (entries.get(key) !== base.get(key)) {
        throw binding(
          `${shard.file} in ${where} has another ${key === "__policy__" ? "policy" : "key set"} than ${first.file}: all shards of a model must share the policy and keys`,
        );
      }
    }
  }
}

/** Compares the index's weight_map with the tensors the shards hold; returns their total size. */
function checkWeightMap(layout: ModelLayout, shards: readonly ShardHeader[]): number {
  const actual = new Map<string, string>();
  let total = 0;
  for (const shard of shards) {
    for (const t of shard.header.tensors) {
      const other = actual.get(t.name);
      if (other !== undefined)
        throw binding(`tensor ${JSON.stringify(t.name)} is in both ${other} and ${shard.file}`);
      actual.set(t.name, shard.file);
      total += t.dataOffsets[1] - t.dataOffsets[0];
    }
  }
  if (layout.index === null) return total;
  const listed = new Map(layout.index.weightMap);
  for (const [name, file] of listed) {
    const holder = actual.get(name);
    if (holder !== file)
      throw binding(
        `the index maps ${JSON.stringify(name)} to ${file}, but ${holder === undefined ? "no shard holds it" : `it is in ${holder}`}`,
      );
  }
  for (const [name, file] of actual) {
    if (!listed.has(name))
      throw binding(
        `${file} holds ${JSON.stringify(name)}, which the index's weight_map does not list`,
      );
  }
  return total;
}

function checkTotalSize(
  layout: ModelLayout,
  totalSize: number,
  strict: boolean,
  options: BindingCheckOptions,
): void {
  const declared = layout.index?.metadata.find(([key]) => key === "total_size")?.[1];
  if (declared === undefined || declared === totalSize) return;
  const message = `the index's total_size ${String(declared)} differs from the ${totalSize} bytes of tensors in the shards`;
  if (strict) throw binding(message);
  warn(options, message);
}

function checkIndexFields(layout: ModelLayout, signed: BindingOf): void {
  if (layout.index === null) return;
  const metadata = new Map(layout.index.metadata);
  const expected: Array<[string, string]> = [
    [BINDING_FIELDS.set, signed.setId],
    [BINDING_FIELDS.manifest, signed.manifest],
    [BINDING_FIELDS.shards, String(signed.count)],
  ];
  for (const [key, value] of expected) {
    const found = metadata.get(key);
    if (found !== undefined && found !== value)
      throw binding(`the index's ${key} (${String(found)}) differs from the shards' (${value})`);
  }
}

function reserved(header: ParsedHeader): Map<string, string> {
  return new Map((header.metadata ?? []).filter(([key]) => isReservedKey(key)));
}

function warn(options: BindingCheckOptions, message: string): void {
  if (options.onWarning) options.onWarning(message);
  else process.emitWarning(message, { code: "CRYPTOTENSORS_MODEL" });
}

function binding(message: string): CryptoTensorsError {
  return new CryptoTensorsError("ERR_MODEL_BINDING", message);
}
