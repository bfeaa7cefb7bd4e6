// The key server's HTTP edges: wrong path or method, oversized and non-JSON bodies, malformed
// requests, and a model whose master key the service does not hold; each a typed refusal.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyServer } from "../../src/release/key-server.js";
import { tempDir } from "../integration/helpers.js";
import { expectCode } from "../support/expect-code.js";
import { customerOptions, encryptModel, licenceFor, open, publisher, serve } from "./support.js";

const dir = tempDir("ct-release-edges-");
const pub = publisher();
let server: KeyServer;

beforeAll(async () => {
  server = await serve(pub, { maxRequestBytes: 4096 });
});
afterAll(() => server?.close());

async function post(path: string, body: string, method = "POST") {
  const response = await fetch(`${server.url}${path}`, {
    method,
    ...(method === "POST" ? { body, headers: { "content-type": "application/json" } } : {}),
  });
  return { status: response.status, body: (await response.json()) as { error: { code: string } } };
}

describe("key server edges", () => {
  it("refuses wrong paths, methods, oversized, non-JSON and malformed requests", async () => {
    expect((await post("/other", "{}")).status).toBe(404);
    expect((await post("/v1/release", "", "GET")).status).toBe(405);
    const big = await post("/v1/release", "x".repeat(10_000));
    expect(big.status).toBe(413);
    const notJson = await post("/v1/release", "{");
    expect(notJson).toMatchObject({
      status: 400,
      body: { error: { code: "ERR_KEY_RELEASE_PROTOCOL" } },
    });
    for (const body of [
      {},
      { v: 2 },
      { v: 1, licence: "x", size: 100, tensors: [], header: "", pub: "", nonce: "" },
      { v: 1, licence: "x", size: 100, tensors: ["a", "a"], header: "", pub: "", nonce: "" },
      { v: 1, licence: "x", size: 100, tensors: ["a"], header: "e30", pub: "AA", nonce: "AA" },
    ]) {
      const answer = await post("/v1/release", JSON.stringify(body));
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe("ERR_KEY_RELEASE_PROTOCOL");
    }
  });

  it("a model whose master key the service does not hold is refused (403), not a crash", async () => {
    const other = publisher("enc-elsewhere");
    // Same publisher signing key pinned, a master key the service lacks.
    const keys = {
      ...other,
      modelKeys: { keys: [other.modelKeys.keys[0], pub.modelKeys.keys[1]] },
    };
    const model = await encryptModel(dir, "elsewhere.ct", keys as typeof pub);
    const options = customerOptions(pub, server.url, await licenceFor(pub, "pro"));
    await expectCode(open(model.path, options), "ERR_KEY_NOT_FOUND");
  });
});
