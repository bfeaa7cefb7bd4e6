/**
 * The input document handed to `data.model.allow` when a file is opened (the README's Policies section).
 */
import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";

/** Any JSON-like input document (bigints allowed for exact nanosecond times). */
export type PolicyInput = Readonly<Record<string, unknown>>;

/** The input document built by {@link buildPolicyInput}. */
export type StandardPolicyInput = {
  time: { now_ns: bigint; rfc3339: string };
  host: { hostname: string; platform: string; arch: string };
  process: { user: string | null; node_version: string };
  file: { path: string };
  tensors: string[];
  keys: { enc: string | null; sign: string | null };
  claims: Record<string, unknown>;
};

/** What the loader knows when it evaluates a file's policy. */
export interface PolicyInputContext {
  /** The file being opened. */
  path: string;
  /** Names of the tensors being requested. */
  tensors: string[];
  /** Key ids in use (`kid` of the master and signing keys). */
  keyIds: { enc?: string; sign?: string };
  /** Caller-supplied, already verified claims (e.g. from a licence token). */
  claims?: Record<string, unknown>;
  /** Current time; defaults to now. */
  now?: Date;
}

/** The passwd name of the effective uid, looked up once per uid (a passwd read per open was 5% of it). */
let knownUser: { uid: number; name: string } | undefined;

function processUser(): string | null {
  const uid = typeof process.geteuid === "function" ? process.geteuid() : -1;
  if (knownUser !== undefined && knownUser.uid === uid) return knownUser.name;
  try {
    const name = userInfo().username;
    knownUser = { uid, name };
    return name;
  } catch {
    // userInfo() throws when the uid has no passwd entry (common in containers).
    return process.env["USER"] ?? null;
  }
}

/**
 * Builds the documented input document.
 *
 * @example
 * ```ts
 * const input = buildPolicyInput({ path: "/models/m.safetensors", tensors: ["w"], keyIds: { enc: "k1" } });
 * input.host.platform; // "linux"
 * ```
 */
export function buildPolicyInput(ctx: PolicyInputContext): StandardPolicyInput {
  if (typeof ctx.path !== "string") throw new TypeError("path must be a string");
  if (!Array.isArray(ctx.tensors) || !ctx.tensors.every((t) => typeof t === "string")) {
    throw new TypeError("tensors must be an array of strings");
  }
  const now = ctx.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    throw new TypeError("now must be a valid Date");
  const claims = ctx.claims ?? {};
  if (typeof claims !== "object" || claims === null || Array.isArray(claims))
    throw new TypeError("claims must be an object");
  return {
    time: { now_ns: BigInt(now.getTime()) * 1_000_000n, rfc3339: now.toISOString() },
    host: { hostname: hostname(), platform: process.platform, arch: process.arch },
    process: { user: processUser(), node_version: process.version },
    file: { path: ctx.path },
    tensors: [...ctx.tensors],
    keys: { enc: ctx.keyIds.enc ?? null, sign: ctx.keyIds.sign ?? null },
    claims: { ...claims },
  };
}

/**
 * JSON text of an input document; bigints are written as exact JSON integers.
 *
 * @example
 * ```ts
 * stringifyInput({ now_ns: 1700000000000000001n }); // '{"now_ns":1700000000000000001}'
 * ```
 */
export function stringifyInput(input: unknown): string {
  // A per-call random marker cannot collide with a string already in the document.
  const marker = `bigint-${randomUUID()}:`;
  const text = JSON.stringify(input, (_k, v: unknown) =>
    typeof v === "bigint" ? marker + v.toString() : v,
  );
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, "g"), "$1");
}
