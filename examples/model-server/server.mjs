#!/usr/bin/env node
// An example model server: serves an encrypted ONNX model (made by `cryptotensors encrypt-onnx`)
// over HTTP with node:http. Keys come from the file key provider (the model's header names its
// key file by a file:// jku, which must lie under KEYS_DIR); callers present an Ed25519-signed
// bearer token whose claims the model's own policy judges. SIGHUP reloads the model (new keys,
// rewrapped file) without dropping requests; SIGTERM/SIGINT drain and exit.
//
//   MODEL_DIR=enc KEYS_DIR=/etc/ct TOKEN_ISSUER_JWK='{"kty":"OKP","crv":"Ed25519","x":"…"}' \
//   HOST=127.0.0.1 PORT=8080 node examples/model-server/server.mjs
//
//   GET  /healthz            → {"status":"ok","generation":1,"inputs":[…],"outputs":[…]}
//   POST /v1/infer           → {"outputs":{"y":{"dims":[…],"data":[…]}}}
//        body {"inputs":{"x":{"dims":[2,96],"data":[…]}}} (float32), Authorization: Bearer <JWT>
import { createServer } from "node:http";
import * as ort from "onnxruntime-node";
import { CryptoTensorsError } from "cryptotensors";
import { TokenError, tokenVerifier } from "./bearer-token.mjs";
import { ModelHolder } from "./model-holder.mjs";

const MAX_BODY_BYTES = 1 << 20;
const MAX_ELEMENTS = 1 << 18;

class BadRequest extends Error {}

function config(env) {
  for (const name of ["MODEL_DIR", "KEYS_DIR", "TOKEN_ISSUER_JWK"])
    if (!env[name]) throw new Error(`${name} is not set`);
  return {
    modelDir: env.MODEL_DIR,
    keysDir: env.KEYS_DIR,
    issuerJwk: JSON.parse(env.TOKEN_ISSUER_JWK),
    host: env.HOST ?? "127.0.0.1",
    port: Number(env.PORT ?? 8080),
  };
}

async function readJson(request) {
  const chunks = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(`the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new BadRequest("the body is not JSON");
  }
}

/** {"inputs":{name:{dims,data}}} → onnxruntime feeds, every number checked. */
function feedsFrom(body, inputNames) {
  const inputs = body?.inputs;
  if (inputs === null || typeof inputs !== "object")
    throw new BadRequest('expected {"inputs": {...}}');
  const feeds = {};
  for (const name of inputNames) {
    const input = inputs[name];
    if (!input) throw new BadRequest(`input ${JSON.stringify(name)} is missing`);
    const { dims, data } = input;
    if (
      !Array.isArray(dims) ||
      dims.length > 8 ||
      !dims.every((d) => Number.isSafeInteger(d) && d > 0)
    )
      throw new BadRequest(`${name}.dims must be up to 8 positive integers`);
    const count = dims.reduce((a, b) => a * b, 1);
    if (count > MAX_ELEMENTS)
      throw new BadRequest(`${name} has more than ${MAX_ELEMENTS} elements`);
    if (!Array.isArray(data) || data.length !== count || !data.every(Number.isFinite))
      throw new BadRequest(`${name}.data must be ${count} finite numbers`);
    feeds[name] = new ort.Tensor("float32", Float32Array.from(data), dims);
  }
  return feeds;
}

function send(response, status, body) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

async function handle(holder, verifyToken, request, response) {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (request.method === "GET" && url.pathname === "/healthz") {
    const session = holder.session;
    return send(response, session ? 200 : 503, {
      status: session ? "ok" : "loading",
      generation: holder.generation,
      inputs: session?.inputNames ?? [],
      outputs: session?.outputNames ?? [],
    });
  }
  if (request.method !== "POST" || url.pathname !== "/v1/infer")
    return send(response, 404, { error: "not found" });
  let claims;
  try {
    claims = verifyToken(request.headers.authorization);
  } catch (error) {
    if (error instanceof TokenError) return send(response, 401, { error: error.message });
    throw error;
  }
  try {
    await holder.authorize(claims);
  } catch (error) {
    if (error instanceof CryptoTensorsError && error.code.startsWith("ERR_POLICY"))
      return send(response, 403, { error: "the model's policy denies these claims" });
    throw error;
  }
  const feeds = feedsFrom(await readJson(request), holder.session.inputNames);
  let results;
  try {
    results = await holder.run(feeds);
  } catch (error) {
    // onnxruntime rejects inputs of the wrong rank or size.
    throw new BadRequest(`inference failed: ${error.message}`);
  }
  const outputs = {};
  for (const [name, tensor] of Object.entries(results))
    outputs[name] = { dims: tensor.dims, data: Array.from(tensor.data) };
  send(response, 200, { outputs });
}

async function main() {
  const settings = config(process.env);
  const holder = new ModelHolder({
    modelDir: settings.modelDir,
    jkuRoots: [settings.keysDir],
    serverClaims: { role: "server" },
  });
  try {
    await holder.load();
  } catch (error) {
    const code = error instanceof CryptoTensorsError ? `${error.code}: ` : "";
    process.stderr.write(
      `model-server: cannot load the model from ${settings.modelDir}: ${code}${error.message}\n`,
    );
    process.exitCode = 1;
    return;
  }
  const verifyToken = tokenVerifier(settings.issuerJwk);
  let active = 0;
  const server = createServer((request, response) => {
    active++;
    handle(holder, verifyToken, request, response)
      .catch((error) => {
        if (error instanceof BadRequest) return send(response, 400, { error: error.message });
        process.stderr.write(`model-server: ${error?.stack ?? error}\n`);
        send(response, 500, { error: "internal error" });
      })
      .finally(() => active--);
  });
  process.on("SIGHUP", () => {
    holder.load().then(
      () => process.stdout.write(`reloaded generation ${holder.generation}\n`),
      (error) =>
        process.stderr.write(
          `model-server: reload failed, still serving generation ${holder.generation}: ${error.code ?? ""} ${error.message}\n`,
        ),
    );
  });
  const stop = () => {
    server.close(async () => {
      await holder.close();
      process.stdout.write("stopped\n");
    });
    server.closeIdleConnections?.();
    // Requests in flight finish; keep-alive sockets idle after them are closed as they go idle.
    const drain = setInterval(() => {
      if (active === 0) {
        server.closeAllConnections?.();
        clearInterval(drain);
      }
    }, 20);
    drain.unref();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  server.listen(settings.port, settings.host, () => {
    const { port } = server.address();
    process.stdout.write(`listening on http://${settings.host}:${port}\n`);
  });
}

await main();
