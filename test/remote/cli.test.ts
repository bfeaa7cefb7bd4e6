// The CLI reads http(s) URLs like paths: inspect (text and --json), verify and decrypt against
// nginx on 127.0.0.1; a private location takes its Authorization from
// CRYPTOTENSORS_HTTP_AUTHORIZATION, which never shows in the output.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeySet, loadFile, saveFile } from "../../src/index.js";
import { CLI, runCli } from "../cli/run-cli.js";
import { randomTensor } from "../integration/helpers.js";
import { startFaultServer } from "../support/fault-server.js";
import { type Nginx, startNginx } from "../support/nginx.js";
import { tempDir } from "../support/temp-dir.js";

const TOKEN = "cli-token-7f3a";
const execFileAsync = promisify(execFile);
const dir = tempDir("ct-remote-cli-");
const set = generateKeySet({ alg: "aes256gcm" });
const tensors = { w: randomTensor(200_000), b: randomTensor(64) };
let nginx: Nginx;

beforeAll(async () => {
  nginx = await startNginx(TOKEN);
  const options = { encryption: { encKey: set.keys[0], signKey: set.keys[1], chunkSize: 8192 } };
  await saveFile(join(nginx.root, "m.ct"), tensors, options);
  await saveFile(join(nginx.root, "private", "m.ct"), tensors, options);
  writeFileSync(join(dir, "k.json"), JSON.stringify(set));
});
afterAll(async () => {
  await nginx?.stop();
});

describe("CLI on URLs", () => {
  it("inspect, verify and decrypt a remote file", async () => {
    const url = `${nginx.origin}/m.ct`;
    const inspected = await runCli(["inspect", url, "--json"]);
    expect(inspected.status, inspected.stderr).toBe(0);
    const summary = JSON.parse(inspected.stdout);
    expect(summary.path).toBe(url);
    expect(summary.tensors.map((t: { name: string }) => t.name).sort()).toEqual(["b", "w"]);
    expect(summary.fileSize).toBeGreaterThan(200_000);
    expect((await runCli(["inspect", url])).stdout).toContain("encrypted: yes");
    const verified = await runCli(["verify", url, "--keys", join(dir, "k.json")]);
    expect(verified.status, verified.stderr).toBe(0);
    const out = join(dir, "plain.safetensors");
    const decrypted = await runCli(["decrypt", url, out, "--keys", join(dir, "k.json"), "--quiet"]);
    expect(decrypted.status, decrypted.stderr).toBe(0);
    const loaded = await loadFile(out);
    expect(Buffer.from(loaded["w"]!.data).equals(tensors.w.data)).toBe(true);
  });

  it("sends CRYPTOTENSORS_HTTP_AUTHORIZATION to a private location and never prints it", async () => {
    const url = `${nginx.origin}/private/m.ct`;
    const denied = await runCli(["verify", url, "--keys", join(dir, "k.json")]);
    expect(denied.status).toBe(1);
    expect(denied.stderr).toContain("ERR_REMOTE_HTTP");
    const wrong = await runCli(["verify", url, "--keys", join(dir, "k.json")], {
      CRYPTOTENSORS_HTTP_AUTHORIZATION: "Bearer not-the-token",
    });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr + wrong.stdout).not.toContain("not-the-token");
    const ok = await runCli(["verify", url, "--keys", join(dir, "k.json")], {
      CRYPTOTENSORS_HTTP_AUTHORIZATION: `Bearer ${TOKEN}`,
    });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout + ok.stderr).not.toContain(TOKEN);
  });

  it("--allow-full-download reads a server that ignores Range; without it the URL is refused", async () => {
    // The fault server lives in this process: the CLI runs as an asynchronous child.
    const server = await startFaultServer(readFileSync(join(nginx.root, "m.ct")));
    server.fault = () => "ignore-range";
    const run = async (args: string[]) => {
      try {
        return { status: 0, ...(await execFileAsync(process.execPath, [CLI, ...args])) };
      } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string };
        return { status: failed.code, stdout: failed.stdout, stderr: failed.stderr };
      }
    };
    try {
      const refused = await run(["inspect", server.url]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain("ERR_REMOTE_NO_RANGES");
      const full = await run([
        "verify",
        server.url,
        "--keys",
        join(dir, "k.json"),
        "--allow-full-download",
      ]);
      expect(full.status, full.stderr).toBe(0);
    } finally {
      await server.close();
    }
  });
});
