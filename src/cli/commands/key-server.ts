// cryptotensors key-server --config FILE: runs the key-release service until SIGINT/SIGTERM.
// The config (JSON) names key files relative to itself; see docs/key-release.md.
import { createWriteStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  type AuditEntry,
  KeyProviderRegistry,
  type KeyProvider,
  type RevocationList,
  startKeyServer,
} from "../../index.js";
import { parse, UsageError } from "../args.js";
import { closeProviders, providerOf } from "../key-providers.js";
import { readKeySet } from "../keys-file.js";

interface KeyServerConfig {
  host?: string;
  port?: number;
  keys?: string;
  keyProviders?: string[];
  publisherKeys: string;
  licenceIssuers: string;
  revocationList?: string;
  rateLimit?: { requests: number; perSeconds: number };
  audit?: string;
}

const FIELDS = new Set([
  "host",
  "port",
  "keys",
  "keyProviders",
  "publisherKeys",
  "licenceIssuers",
  "revocationList",
  "rateLimit",
  "audit",
]);

async function readConfig(path: string): Promise<KeyServerConfig> {
  let config: KeyServerConfig;
  try {
    config = JSON.parse(await readFile(path, "utf8")) as KeyServerConfig;
  } catch {
    throw new UsageError(`${path} is not readable JSON; see docs/key-release.md for the fields`);
  }
  if (config === null || typeof config !== "object" || Array.isArray(config))
    throw new UsageError(`${path} must hold a JSON object`);
  const unknown = Object.keys(config).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0) throw new UsageError(`${path}: unknown field(s) ${unknown.join(", ")}`);
  for (const field of ["publisherKeys", "licenceIssuers"] as const) {
    if (typeof config[field] !== "string")
      throw new UsageError(`${path}: "${field}" (a JWK set file) is required`);
  }
  if (config.keys === undefined && (config.keyProviders ?? []).length === 0)
    throw new UsageError(
      `${path}: name the master keys with "keys" (a JWK set file) or "keyProviders"`,
    );
  return config;
}

/** Revoked licence ids, one per line (# comments), re-read when the file changes; unreadable → refuse all. */
function revocationFile(path: string): RevocationList {
  let mtime = -1;
  let ids = new Set<string>();
  return {
    async has(id: string) {
      const info = await stat(path);
      if (info.mtimeMs !== mtime) {
        const text = await readFile(path, "utf8");
        ids = new Set(
          text
            .split("\n")
            .map((line) => line.replace(/#.*/, "").trim())
            .filter((line) => line.length > 0),
        );
        mtime = info.mtimeMs;
      }
      return ids.has(id);
    },
  };
}

export async function keyServer(argv: string[]): Promise<number> {
  const { values } = parse(argv, { config: { type: "string" } }, []);
  const configPath = values.config as string | undefined;
  if (configPath === undefined) throw new UsageError("--config FILE is required");
  const config = await readConfig(configPath);
  const at = (file: string) => resolve(dirname(configPath), file);
  const providers: KeyProvider[] = [];
  for (const [index, uri] of (config.keyProviders ?? []).entries())
    providers.push(await providerOf(uri, index));
  const auditStream =
    config.audit === undefined
      ? process.stderr
      : createWriteStream(at(config.audit), { flags: "a", mode: 0o600 });
  const keys = config.keys === undefined ? undefined : await readKeySet(at(config.keys));
  const server = await startKeyServer({
    ...(config.host === undefined ? {} : { host: config.host }),
    ...(config.port === undefined ? {} : { port: config.port }),
    ...(keys === undefined ? {} : { keys }),
    keyRegistry: new KeyProviderRegistry(providers),
    publisherKeys: (await readKeySet(at(config.publisherKeys)))!,
    licenceIssuers: (await readKeySet(at(config.licenceIssuers)))!,
    ...(config.revocationList === undefined
      ? {}
      : { revoked: revocationFile(at(config.revocationList)) }),
    ...(config.rateLimit === undefined ? {} : { rateLimit: config.rateLimit }),
    audit: (entry: AuditEntry) => auditStream.write(`${JSON.stringify(entry)}\n`),
  });
  process.stdout.write(`key server listening on ${server.url}\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await server.close();
  closeProviders(providers);
  if (auditStream !== process.stderr) auditStream.end();
  return 0;
}
