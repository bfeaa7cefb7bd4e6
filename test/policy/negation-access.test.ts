// Issue 19 class A at the file level: a negated reference whose key is undefined must not grant
// access (OPA evaluates the key outside the negation, so the rule does not hold).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CryptoTensorsError, generateKeySet, openFile, saveFile } from "../../src/index.js";
import { randomTensor, tempDir } from "../integration/helpers.js";

const dir = tempDir("ct-policy-not-");
const keys = generateKeySet({ encKid: "e", signKid: "s" });
const [encKey, signKey] = keys.keys;

const denied = (e: unknown) => e instanceof CryptoTensorsError && e.code === "ERR_POLICY_DENIED";

async function write(name: string, local: string): Promise<string> {
  const path = join(dir, name);
  await saveFile(
    path,
    { w: randomTensor(16) },
    { encryption: { encKey, signKey, policy: { local } } },
  );
  return path;
}

describe("negation over references at openFile", () => {
  it("a denylist keyed by a missing claim stays denied", async () => {
    const path = await write(
      "denylist.safetensors",
      'package model\nblocked := {"mallory"}\ndefault allow := false\nallow if not blocked[input.claims.sub]\n',
    );
    await expect(openFile(path, { keys })).rejects.toSatisfy(denied);
    await expect(openFile(path, { keys, claims: {} })).rejects.toSatisfy(denied);
    await expect(openFile(path, { keys, claims: { sub: "mallory" } })).rejects.toSatisfy(denied);
    const ok = await openFile(path, { keys, claims: { sub: "alice" } });
    expect(ok.names()).toEqual(["w"]);
    await ok.close();
  });

  it("an index from a missing claim and a data.model denylist stay denied", async () => {
    const byIndex = await write(
      "index.safetensors",
      'package model\ndefault allow := false\nallow if not input.tensors[input.claims.idx] == "x"\n',
    );
    await expect(openFile(byIndex, { keys, claims: {} })).rejects.toSatisfy(denied);
    const viaData = await write(
      "data.safetensors",
      'package model\ndenylist := {"m"}\ndefault allow := false\nallow if not data.model.denylist[input.claims.sub]\n',
    );
    await expect(openFile(viaData, { keys, claims: {} })).rejects.toSatisfy(denied);
    await (await openFile(viaData, { keys, claims: { sub: "a" } })).close();
  });
});
