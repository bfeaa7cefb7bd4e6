// Policies evaluated with real input at open: licence tiers over requested tensors, claims, expiry.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CryptoTensorsError,
  generateKeySet,
  loadFile,
  openFile,
  saveFile,
} from "../../src/index.js";
import { randomTensor, tempDir } from "./helpers.js";

const dir = tempDir("ct-policy-");
const keys = generateKeySet({ encKid: "e", signKid: "s" });
const [encKey, signKey] = keys.keys;

const TIERS = `package model
import rego.v1

default allow := false

allow if input.claims.tier == "pro"

allow if {
  input.claims.tier == "free"
  every name in input.tensors { startswith(name, "base.") }
}
`;

async function write(name: string, local: string): Promise<string> {
  const path = join(dir, name);
  await saveFile(
    path,
    { "base.w": randomTensor(16), "head.w": randomTensor(16) },
    { encryption: { encKey, signKey, policy: { local } } },
  );
  return path;
}

const code = (c: string) => (e: unknown) => e instanceof CryptoTensorsError && e.code === c;

describe("policy input", () => {
  it("a free tier may open only the base tensors it requests; pro gets everything", async () => {
    const path = await write("tiers.safetensors", TIERS);
    await expect(openFile(path, { keys, claims: { tier: "free" } })).rejects.toSatisfy(
      code("ERR_POLICY_DENIED"),
    );
    const free = await openFile(path, { keys, claims: { tier: "free" }, tensors: ["base.w"] });
    expect(free.names()).toEqual(["base.w"]);
    expect((await free.getTensor("base.w")).data.length).toBe(16);
    await expect(free.getTensor("head.w")).rejects.toSatisfy(code("ERR_TENSOR_NOT_FOUND"));
    await free.close();
    expect(
      Object.keys(await loadFile(path, { keys, claims: { tier: "free" }, tensors: ["base.w"] })),
    ).toEqual(["base.w"]);
    expect(Object.keys(await loadFile(path, { keys, claims: { tier: "pro" } })).sort()).toEqual([
      "base.w",
      "head.w",
    ]);
    await expect(openFile(path, { keys, tensors: ["nope"] })).rejects.toSatisfy(
      code("ERR_TENSOR_NOT_FOUND"),
    );
  });

  it("expiry in the past denies, in the future allows", async () => {
    const expired = await write(
      "expired.safetensors",
      'package model\nimport rego.v1\ndefault allow := false\nallow if time.now_ns() < time.parse_rfc3339_ns("2020-01-01T00:00:00Z")\n',
    );
    const valid = await write(
      "valid.safetensors",
      'package model\nimport rego.v1\ndefault allow := false\nallow if time.now_ns() < time.parse_rfc3339_ns("2200-01-01T00:00:00Z")\n',
    );
    await expect(openFile(expired, { keys })).rejects.toSatisfy(code("ERR_POLICY_DENIED"));
    await expect(loadFile(valid, { keys })).resolves.toBeTruthy();
  });

  it("the input carries the path, key ids and host facts", async () => {
    const path = await write(
      "facts.safetensors",
      `package model
import rego.v1
allow if {
  endswith(input.file.path, "facts.safetensors")
  input.keys.enc == "e"
  input.keys.sign == "s"
  count(input.host.hostname) > 0
}
`,
    );
    await expect(loadFile(path, { keys })).resolves.toBeTruthy();
  });

  it("a policy that does not parse is refused at write time and nothing is written", async () => {
    await expect(write("bad.safetensors", "package model\nallow if {")).rejects.toSatisfy(
      code("ERR_POLICY_INVALID"),
    );
  });
});
