// The example model server (examples/model-server), started on loopback as a user would run it,
// serving a small encrypted model: real requests, concurrent ones, bad ones, a SIGHUP reload onto
// new keys and a rewrapped file while requests are in flight, a clean exit, and a clear start-up
// error for a missing model.
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { rename, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeys, type JwkFields, rewrapFile } from "../../src/index.js";
import { encryptOnnx } from "../../src/onnxruntime/index.js";
import { tempDir } from "../integration/helpers.js";
import { SMALL_IN_FEATURES, SMALL_OUTPUT, writeSmallModel } from "../onnxruntime/small-model.js";

const SERVER = resolve(__dirname, "../../examples/model-server/server.mjs");
const dir = tempDir("ct-server-");
const keysDir = join(dir, "keys");
const modelDir = join(dir, "model");
const issuer = generateKeyPairSync("ed25519");
const policy = `package model
import rego.v1
default allow := false
allow if input.claims.role == "server"
allow if {
  input.claims.role == "caller"
  input.claims.tier == "pro"
}`;

/** Keys whose header descriptors name their key file by a file:// jku under keysDir. */
async function keysWithJku(name: string) {
  const set = generateKeys() as { keys: Array<Record<string, unknown>> };
  const jku = `file://${join(keysDir, name)}`;
  const keys = { keys: set.keys.map((k) => ({ ...k, jku })) };
  await writeFile(join(keysDir, name), JSON.stringify(keys));
  return keys;
}

function token(claims: Record<string, unknown>, key = issuer.privateKey): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const signed = `${part({ alg: "EdDSA", typ: "JWT" })}.${part({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })}`;
  return `${signed}.${sign(null, Buffer.from(signed), key).toString("base64url")}`;
}

interface Server {
  child: ChildProcess;
  url: string;
  stdout: string[];
  exit: Promise<{ code: number | null; stderr: string }>;
}

function start(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; stderr: string }>((done) =>
    child.on("exit", (code) => done({ code, stderr })),
  );
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start: ${stderr}`)), 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout.push(...chunk.toString().split("\n").filter(Boolean));
      const line = stdout.find((l) => l.startsWith("listening on "));
      if (line) {
        clearTimeout(timer);
        ready({ child, url: line.slice("listening on ".length), stdout, exit });
      }
    });
    void exit.then(({ code }) => {
      clearTimeout(timer);
      fail(Object.assign(new Error(`server exited with ${code}: ${stderr}`), { code, stderr }));
    });
  });
}

interface InferBody {
  outputs: Record<string, { dims: number[]; data: number[] }>;
  error?: string;
}

const input = Array.from({ length: 2 * SMALL_IN_FEATURES }, (_, i) => Math.cos(i));
let server: Server;
let expected: number[];
let env: Record<string, string>;

async function infer(
  auth: string | null,
  body: unknown = { inputs: { x: { dims: [2, SMALL_IN_FEATURES], data: input } } },
) {
  const response = await fetch(`${server.url}/v1/infer`, {
    method: "POST",
    headers: auth === null ? {} : { authorization: `Bearer ${auth}` },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as InferBody };
}

beforeAll(async () => {
  await import("node:fs/promises").then((fs) => fs.mkdir(keysDir));
  const keys = await keysWithJku("model-v1.jwks");
  const [encKey, signKey] = keys.keys as unknown as [JwkFields, JwkFields];
  const model = await writeSmallModel(dir, "small.onnx", { seed: 11 });
  await encryptOnnx(model, modelDir, {
    encryption: { encKey, signKey, policy: { local: policy } },
  });
  const plain = await ort.InferenceSession.create(model);
  const x = new ort.Tensor("float32", Float32Array.from(input), [2, SMALL_IN_FEATURES]);
  expected = Array.from((await plain.run({ x }))[SMALL_OUTPUT]?.data as Float32Array);
  env = {
    MODEL_DIR: modelDir,
    KEYS_DIR: keysDir,
    TOKEN_ISSUER_JWK: JSON.stringify(issuer.publicKey.export({ format: "jwk" })),
  };
  server = await start(env);
});

afterAll(() => {
  if (server?.child.exitCode === null) server.child.kill("SIGKILL");
});

describe("examples/model-server", () => {
  it("serves health and inference with the plaintext model's outputs", async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(await health.json()).toEqual({
      status: "ok",
      generation: 1,
      inputs: ["x"],
      outputs: ["y"],
    });
    const result = await infer(token({ role: "caller", tier: "pro" }));
    expect(result.status).toBe(200);
    expect(result.body.outputs.y?.dims).toEqual([2, 3, 1]);
    expect(result.body.outputs.y?.data).toEqual(expected);
  });

  it("answers concurrent requests", async () => {
    const auth = token({ role: "caller", tier: "pro" });
    const results = await Promise.all(Array.from({ length: 24 }, () => infer(auth)));
    expect(results.map((r) => r.status)).toEqual(Array(24).fill(200));
    for (const r of results) expect(r.body.outputs.y?.data).toEqual(expected);
  });

  it("refuses bad requests: malformed input 400, bad token 401, denied claims 403", async () => {
    const auth = token({ role: "caller", tier: "pro" });
    expect((await infer(auth, "{not json")).status).toBe(400);
    expect((await infer(auth, { inputs: { x: { dims: [2, 5], data: [1, 2] } } })).status).toBe(400);
    expect((await infer(auth, { inputs: { x: { dims: [1, 3], data: [1, 2, 3] } } })).status).toBe(
      400,
    );
    expect((await infer(null)).status).toBe(401);
    expect(
      (
        await infer(
          token({ role: "caller", tier: "pro" }, generateKeyPairSync("ed25519").privateKey),
        )
      ).status,
    ).toBe(401);
    expect((await infer(token({ role: "caller", tier: "pro", exp: 1 }))).status).toBe(401);
    const denied = await infer(token({ role: "caller", tier: "free" }));
    expect(denied.status).toBe(403);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });

  it("reloads on SIGHUP onto new keys and a rewrapped file without dropping requests", async () => {
    const v2 = await keysWithJku("model-v2.jwks");
    const weights = join(modelDir, "model.safetensors");
    // The administrator rewraps into a new file and renames it into place (readers see one or the other).
    await rewrapFile(weights, {
      jkuRoots: [keysDir],
      claims: { role: "server" },
      newEncKey: v2.keys[0],
      newSignKey: v2.keys[1],
      output: `${weights}.new`,
    });
    await rename(`${weights}.new`, weights);
    const auth = token({ role: "caller", tier: "pro" });
    const reloaded = new Promise<void>((done) => {
      const check = setInterval(() => {
        if (server.stdout.includes("reloaded generation 2")) {
          clearInterval(check);
          done();
        }
      }, 10);
    });
    const during: Array<Promise<{ status: number }>> = [];
    for (let i = 0; i < 8; i++) during.push(infer(auth));
    server.child.kill("SIGHUP");
    for (let i = 0; i < 8; i++) during.push(infer(auth));
    await reloaded;
    await unlink(join(keysDir, "model-v1.jwks")); // the old keys are gone
    for (let i = 0; i < 8; i++) during.push(infer(auth));
    expect((await Promise.all(during)).map((r) => r.status)).toEqual(Array(24).fill(200));
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { generation: number };
    expect(health.generation).toBe(2);
    expect((await infer(auth)).body.outputs.y?.data).toEqual(expected);
  });

  it("exits cleanly on SIGTERM", async () => {
    server.child.kill("SIGTERM");
    const { code } = await server.exit;
    expect(code).toBe(0);
    expect(server.stdout).toContain("stopped");
  });

  it("fails at start-up with a clear error when the model is missing", async () => {
    const failed = await start({ ...env, MODEL_DIR: join(dir, "absent") }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((failed as { code: number }).code).toBe(1);
    expect((failed as { stderr: string }).stderr).toMatch(
      /cannot load the model from .*absent: ERR_IO/,
    );
  });
});
