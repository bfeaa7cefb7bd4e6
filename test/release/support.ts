// Shared setup of the key-release tests: a publisher (keys, a model with a tiered remote
// policy), a licence issuer, a key server on loopback, and customers opening through it.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { generateKeys } from "../../src/keys/generate.js";
import { KeyProviderRegistry } from "../../src/keys/registry.js";
import { issueLicence } from "../../src/licence/licence-token.js";
import { openFile, type OpenOptions } from "../../src/reader/open-file.js";
import { startKeyServer, type KeyServerOptions } from "../../src/release/key-server.js";
import {
  RemoteKeyProvider,
  type RemoteKeyProviderOptions,
} from "../../src/release/remote-key-provider.js";
import { saveFile } from "../../src/writer/save-file.js";
import { randomTensor } from "../integration/helpers.js";

export const REMOTE_POLICY = `package model
import rego.v1
default allow := false
allow if input.claims.tier == "pro"
allow if {
  input.claims.tier == "free"
  every t in input.tensors { startswith(t, "embed.") }
}`;

export const TENSORS = ["embed.weight", "head.weight", "head.bias"];

/** The publisher's keys and issuer key; public halves for pinning. */
export function publisher(encKid = "enc-1") {
  const model = generateKeys({ encKid, signKid: "sign-1" });
  const issuer = generateKeys({ signKid: "licences-1" }).keys[1];
  const publicOf = (jwk: Record<string, string>) => ({ keys: [{ ...jwk, d: undefined }] });
  return {
    masterKeys: { keys: [model.keys[0]] },
    modelKeys: model,
    publisherPublic: publicOf(model.keys[1]),
    issuer,
    issuerPublic: publicOf(issuer),
  };
}

export type Publisher = ReturnType<typeof publisher>;

export async function encryptModel(dir: string, name: string, pub: Publisher) {
  const path = join(dir, name);
  const data = Object.fromEntries(TENSORS.map((t, i) => [t, randomTensor(64 * (i + 1), "F32")]));
  await saveFile(path, data, {
    encryption: {
      encKey: pub.modelKeys.keys[0],
      signKey: pub.modelKeys.keys[1],
      policy: { local: "package model\nallow := true", remote: REMOTE_POLICY },
    },
  });
  return { path, data };
}

export function licenceFor(
  pub: Publisher,
  tier: string,
  extra: { expires?: Date; model?: string; id?: string } = {},
) {
  return issueLicence({
    signingKey: pub.issuer,
    subject: `customer-${tier}`,
    claims: { tier },
    expires: extra.expires ?? new Date(Date.now() + 3_600_000),
    ...(extra.model ? { model: extra.model } : {}),
    ...(extra.id ? { id: extra.id } : {}),
  });
}

export function serve(pub: Publisher, extra: Partial<KeyServerOptions> = {}) {
  return startKeyServer({
    keys: pub.masterKeys,
    publisherKeys: pub.publisherPublic,
    licenceIssuers: pub.issuerPublic,
    ...extra,
  });
}

export function customerOptions(
  pub: Publisher,
  url: string,
  licence: string,
  extra: Partial<RemoteKeyProviderOptions> = {},
): OpenOptions {
  const remote = new RemoteKeyProvider({ url, licence, retryDelayMs: 10, ...extra });
  return { keyRegistry: new KeyProviderRegistry([remote]), verifyKeys: pub.publisherPublic };
}

export function open(path: string, options: OpenOptions, tensors?: string[]) {
  return openFile(path, { ...options, ...(tensors ? { tensors } : {}) });
}

export function headerBytes(path: string): Buffer {
  const bytes = readFileSync(path);
  return bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0)));
}

/** A loopback HTTP server with a handler; closed by the returned function. */
export async function loopback(
  handler: Parameters<typeof createServer>[1],
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
