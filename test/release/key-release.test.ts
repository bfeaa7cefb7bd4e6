// The key-release service and RemoteKeyProvider over loopback: tiers, tensor subsets, expiry,
// revocation, rate limits, tampered headers, replayed and foreign responses, what crosses the
// wire, and the audit log.
import { createHash } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unwrapDataKey } from "../../src/crypto/envelope.js";
import { parseEncryption } from "../../src/crypto/reserved-encryption.js";
import { parseHeader } from "../../src/format/header.js";
import type { AuditEntry } from "../../src/release/key-release.js";
import type { KeyServer } from "../../src/release/key-server.js";
import { RemoteKeyProvider } from "../../src/release/remote-key-provider.js";
import { reservedEntries } from "../../src/reader/unlock.js";
import { tempDir } from "../integration/helpers.js";
import { expectCode } from "../support/expect-code.js";
import {
  customerOptions,
  encryptModel,
  headerBytes,
  licenceFor,
  loopback,
  open,
  publisher,
  serve,
  TENSORS,
} from "./support.js";

const dir = tempDir("ct-release-");
const pub = publisher();
const audit: AuditEntry[] = [];
const revoked = new Set<string>();
let clock: Date | undefined;
let server: KeyServer;
let model: Awaited<ReturnType<typeof encryptModel>>;
let other: Awaited<ReturnType<typeof encryptModel>>;

beforeAll(async () => {
  model = await encryptModel(dir, "model.ct", pub);
  other = await encryptModel(dir, "other.ct", pub);
  server = await serve(pub, {
    audit: (e) => audit.push(e),
    revoked: { has: (id) => revoked.has(id) },
    now: () => clock ?? new Date(),
    rateLimit: { requests: 10_000, perSeconds: 60 },
  });
});
afterAll(() => server?.close());

describe("key release", () => {
  it("pro opens every tensor; free only the embeddings; the bytes are the plaintext", async () => {
    const pro = customerOptions(pub, server.url, await licenceFor(pub, "pro"));
    const all = await open(model.path, pro);
    for (const name of TENSORS)
      expect(Buffer.from((await all.getTensor(name)).data)).toEqual(
        Buffer.from(model.data[name]!.data),
      );
    await all.close();

    const free = customerOptions(pub, server.url, await licenceFor(pub, "free"));
    await expectCode(open(model.path, free), "ERR_KEY_RELEASE_DENIED");
    await expectCode(open(model.path, free, ["head.weight"]), "ERR_KEY_RELEASE_DENIED");
    const embed = await open(model.path, free, ["embed.weight"]);
    expect(Buffer.from((await embed.getTensor("embed.weight")).data)).toEqual(
      Buffer.from(model.data["embed.weight"]!.data),
    );
    await expectCode(embed.getTensor("head.weight"), "ERR_TENSOR_NOT_FOUND");
    await embed.close();
  });

  it("expiry by time, not-yet-valid, another model's licence and a revoked licence are refused", async () => {
    const token = await licenceFor(pub, "pro", { expires: new Date(Date.now() + 60_000) });
    const options = customerOptions(pub, server.url, token);
    await (await open(model.path, options)).close();
    clock = new Date(Date.now() + 120_000);
    try {
      await expectCode(open(model.path, options), "ERR_LICENCE_EXPIRED");
    } finally {
      clock = undefined;
    }
    const digest = `sha256:${createHash("sha256").update(headerBytes(model.path)).digest("hex")}`;
    const forModel = await licenceFor(pub, "pro", { model: digest });
    await (await open(model.path, customerOptions(pub, server.url, forModel))).close();
    await expectCode(
      open(other.path, customerOptions(pub, server.url, forModel)),
      "ERR_LICENCE_AUDIENCE",
    );

    const doomed = await licenceFor(pub, "pro", { id: "licence-to-revoke" });
    const doomedOptions = customerOptions(pub, server.url, doomed);
    await (await open(model.path, doomedOptions)).close();
    revoked.add("licence-to-revoke");
    await expectCode(open(model.path, doomedOptions), "ERR_LICENCE_REVOKED");
    // A licence from another issuer key.
    const stranger = publisher();
    await expectCode(
      open(model.path, customerOptions(pub, server.url, await licenceFor(stranger, "pro"))),
      "ERR_LICENCE_INVALID",
    );
  });

  it("a tampered header is refused locally and by the server; a model from another publisher too", async () => {
    const region = Buffer.from(headerBytes(model.path));
    const at = region.indexOf("free");
    region.write("fre3", at);
    const remote = new RemoteKeyProvider({
      url: server.url,
      licence: await licenceFor(pub, "pro"),
      retryDelayMs: 10,
    });
    const header = parseHeader(region, statSync(model.path).size);
    const entries = parseEncryption(reservedEntries(header).get("__encryption__") as string);
    await expectCode(
      remote.unwrapDataKeys(
        {
          alg: "aes256gcm",
          file: {
            header: region,
            size: statSync(model.path).size,
            tensors: ["embed.weight"],
          },
        },
        [entries.get("embed.weight")!],
      ),
      "ERR_SIGNATURE_INVALID",
    );
    const foreign = publisher();
    const theirs = await encryptModel(dir, "theirs.ct", foreign);
    // The customer pins the foreign publisher, but the service trusts only its own.
    const options = customerOptions(foreign, server.url, await licenceFor(pub, "pro"));
    await expectCode(open(theirs.path, options), "ERR_SIGNATURE_INVALID");
    // The tampered file on the customer's disk is refused before any request is made.
    const bytes = readFileSync(model.path);
    bytes.write("fre3", 8 + at);
    writeFileSync(`${dir}/tampered.ct`, bytes);
    const before = audit.length;
    await expectCode(
      open(`${dir}/tampered.ct`, customerOptions(pub, server.url, await licenceFor(pub, "pro"))),
      "ERR_SIGNATURE_INVALID",
    );
    expect(audit.length).toBe(before);
  });

  it("a replayed response, or one made for another model, does not open", async () => {
    const licence = await licenceFor(pub, "pro");
    let recorded: Buffer | undefined;
    const proxy = await loopback((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        if (recorded) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(recorded);
          return;
        }
        const forward = httpRequest(
          `${server.url}/v1/release`,
          { method: "POST", headers: { "content-type": "application/json" } },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on("data", (c) => parts.push(c));
            answer.on("end", () => {
              recorded = Buffer.concat(parts);
              res.writeHead(answer.statusCode ?? 500, { "content-type": "application/json" });
              res.end(recorded);
            });
          },
        );
        forward.end(Buffer.concat(chunks));
      });
    });
    try {
      const options = customerOptions(pub, proxy.url, licence);
      await (await open(model.path, options)).close();
      expect(recorded).toBeDefined();
      // The same request again (fresh ephemeral key and nonce): the old answer is refused.
      await expectCode(open(model.path, options), "ERR_KEY_RELEASE_PROTOCOL");
      // Another model (same tensor names, same master key): refused too.
      await expectCode(open(other.path, options), "ERR_KEY_RELEASE_PROTOCOL");
      // What crossed the wire holds neither the master key nor a data key, in any encoding.
      const wire = recorded!.toString();
      const master = Buffer.from(pub.masterKeys.keys[0]!.k as string, "base64");
      const entries = parseEncryption(
        reservedEntries(parseHeader(headerBytes(model.path), statSync(model.path).size)).get(
          "__encryption__",
        ) as string,
      );
      const secrets = [
        master,
        ...[...entries.values()].map((e) => unwrapDataKey("aes256gcm", master, e)),
      ];
      for (const secret of secrets)
        for (const form of ["base64", "base64url", "hex"] as const)
          expect(wire).not.toContain(secret.toString(form));
      const auditText = JSON.stringify(audit);
      for (const secret of secrets)
        for (const form of ["base64", "base64url", "hex"] as const)
          expect(auditText).not.toContain(secret.toString(form));
    } finally {
      await proxy.close();
    }
  });

  it("audits who asked for which tensors of which model, and the decision", () => {
    const allowed = audit.find((e) => e.decision === "allow" && e.subject === "customer-free");
    expect(allowed).toMatchObject({
      tensors: 1,
      tensorNames: ["embed.weight"],
      client: "127.0.0.1",
    });
    expect(allowed?.model).toMatch(/^sha256:[0-9a-f]{64}$/);
    const denied = audit.find((e) => e.decision === "deny" && e.code === "ERR_KEY_RELEASE_DENIED");
    expect(denied?.subject).toBe("customer-free");
    expect(audit.some((e) => e.code === "ERR_LICENCE_REVOKED")).toBe(true);
  });

  it("rate limits per licence", async () => {
    const limited = await serve(pub, { rateLimit: { requests: 2, perSeconds: 60 } });
    try {
      const a = customerOptions(pub, limited.url, await licenceFor(pub, "pro"));
      await (await open(model.path, a)).close();
      await (await open(model.path, a)).close();
      const refused = await expectCode(open(model.path, a), "ERR_KEY_RELEASE_DENIED");
      expect(refused.message).toMatch(/rate limit/);
      // Another licence has its own budget.
      const b = customerOptions(pub, limited.url, await licenceFor(pub, "pro"));
      await (await open(model.path, b)).close();
    } finally {
      await limited.close();
    }
  });

  it("server down and a server that never answers: ERR_KEY_RELEASE_UNREACHABLE after retries, in bounded time", async () => {
    const down = await serve(pub);
    const url = down.url;
    await down.close();
    const licence = await licenceFor(pub, "pro");
    await expectCode(
      open(model.path, customerOptions(pub, url, licence, { retries: 1 })),
      "ERR_KEY_RELEASE_UNREACHABLE",
    );
    let requests = 0;
    const silent = await loopback(() => {
      requests += 1; // never answers
    });
    try {
      const started = Date.now();
      const error = await expectCode(
        open(model.path, customerOptions(pub, silent.url, licence, { retries: 1, timeoutMs: 300 })),
        "ERR_KEY_RELEASE_UNREACHABLE",
      );
      expect(error.message).toMatch(/did not answer within 300 ms/);
      expect(requests).toBe(2);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await silent.close();
    }
    const garbage = await loopback((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"v":1,"pub":"AAAA","iv":"x","sealed":"y"}');
    });
    try {
      await expectCode(
        open(model.path, customerOptions(pub, garbage.url, licence)),
        "ERR_KEY_RELEASE_PROTOCOL",
      );
    } finally {
      await garbage.close();
    }
  });
});
