// `--key-provider URI` (repeatable) for every command that needs keys: `pkcs11:` (RFC 7512, a
// PKCS#11 token), `file:` (a JWK set file), `kmip://host:port?cert=…&key=…&ca=…` (a KMIP server,
// master keys only). The providers are registered in the process-wide registry, after --keys (priority
// 100) and before CRYPTOTENSOR_KEYS; commands that write use them for held keys.
import { fileURLToPath } from "node:url";
import {
  DirectKeyProvider,
  HeldKey,
  type KeyProvider,
  KmipKeyProvider,
  Pkcs11KeyProvider,
  registerKeyProvider,
} from "../index.js";
import { UsageError } from "./args.js";
import { readKeySet } from "./keys-file.js";

export const KEY_PROVIDER_OPTION = {
  "key-provider": { type: "string", multiple: true },
} as const;

/** Priority of providers given on the command line: below --keys, above the environment. */
const CLI_PRIORITY = 50;

/** The providers named by `--key-provider`, registered for lookups; [] when none. */
export async function keyProvidersFrom(values: Record<string, unknown>): Promise<KeyProvider[]> {
  const uris = (values["key-provider"] as string[] | undefined) ?? [];
  const providers: KeyProvider[] = [];
  for (const [index, uri] of [...new Set(uris)].entries()) {
    const provider = await providerOf(uri, index);
    registerKeyProvider(provider);
    providers.push(provider);
  }
  return providers;
}

/** The provider a `--key-provider` URI names (not registered). */
export async function providerOf(uri: string, index: number): Promise<KeyProvider> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  switch (scheme) {
    case "pkcs11":
      return new Pkcs11KeyProvider(uri, { priority: CLI_PRIORITY });
    case "file": {
      const path = uri.startsWith("file://") ? fileURLToPath(uri) : uri.slice("file:".length);
      const ring = await readKeySet(path);
      return new DirectKeyProvider(ring, `key-provider ${index + 1} (${path})`, CLI_PRIORITY);
    }
    case "kmip":
      return new KmipKeyProvider(uri.includes("://") ? uri : uri.replace(/^kmip:/i, "kmip://"), {
        priority: CLI_PRIORITY,
      });
    default:
      throw new UsageError(
        `--key-provider ${JSON.stringify(uri.slice(0, 40))}: use pkcs11:token=…?module-path=…, file:/path/to/keys.jwks or kmip://`,
      );
  }
}

/**
 * A held master key from the providers: the first that serves `kid` and wraps data keys.
 * `alg` is the data algorithm written into the header.
 */
export function heldMasterKey(
  providers: readonly KeyProvider[],
  kid: string | undefined,
  alg: string,
): HeldKey | undefined {
  if (kid === undefined) return undefined;
  const provider = providers.find(
    (p) => typeof p.wrapDataKeys === "function" && (p.matches?.({ kid }) ?? true),
  );
  return provider ? HeldKey.master(provider, { kid, alg }) : undefined;
}

/** A held signing key from the providers: the first that serves `kid` and signs. */
export function heldSigningKey(
  providers: readonly KeyProvider[],
  kid: string | undefined,
): HeldKey | undefined {
  if (kid === undefined) return undefined;
  const provider = providers.find(
    (p) => typeof p.sign === "function" && (p.matches?.({ kid }) ?? true),
  );
  return provider ? HeldKey.signer(provider, { kid }) : undefined;
}

/** Releases the providers' sessions (tokens), so the process exits cleanly. */
export function closeProviders(providers: readonly KeyProvider[]): void {
  for (const provider of providers) (provider as { close?: () => void }).close?.();
}
