// openModel opens shards lazily (issue 15): every shard's header is verified and bound at open,
// but only the first needed shard is opened for reading; the others are opened — policy checked
// again, data keys unwrapped, header compared with the bound one — on their first read.
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  EmbeddedPolicyEvaluator,
  loadModel,
  openModel,
  parseKeySet,
  saveModel,
  type PolicyEvaluator,
} from "../../src/index.js";
import type { PolicyInput } from "../../src/policy/input.js";
import { expectRejects } from "../adversarial/expect-rejects.js";
import { joinFile, splitFile } from "../interop/reference.js";
import { tempDir } from "../support/temp-dir.js";
import { keysAndEncryption, randomModel } from "./helpers.js";

const root = tempDir("ct-model-lazy-");
const shard = (i: number) => `model-0000${i}-of-00003.safetensors`;
const { keys, encryption } = keysAndEncryption();
const tensors = randomModel(6, 1000); // two 4000-byte tensors per 8000-byte shard
const A = join(root, "A");
const A2 = join(root, "A2"); // the same model encrypted again (an older version)
const B = join(root, "B"); // another model, same keys, same names
let copies = 0;

beforeAll(async () => {
  await saveModel(A, tensors, { maxShardSize: 8000, encryption });
  await saveModel(A2, tensors, { maxShardSize: 8000, encryption });
  await saveModel(B, randomModel(6, 1000), { maxShardSize: 8000, encryption });
});

function copyOfA(): string {
  const dir = join(root, `copy${copies++}`);
  cpSync(A, dir, { recursive: true });
  return dir;
}

/** The embedded engine, recording which shard each decision was for; `deny` refuses from then on. */
function recordingEvaluator(): PolicyEvaluator & { shards: string[]; deny: boolean } {
  const engine = new EmbeddedPolicyEvaluator();
  const recorder = {
    shards: [] as string[],
    deny: false,
    async evaluate(rego: string, input: PolicyInput | undefined) {
      const path = String((input?.["file"] as { path?: unknown } | undefined)?.path);
      recorder.shards.push(path.slice(path.lastIndexOf("/") + 1));
      return recorder.deny ? false : engine.evaluate(rego, input);
    },
  };
  return recorder;
}

const inShard = (i: number) => [`model.layers.${2 * i - 2}.mlp.weight`];

describe.each(["native", "fallback"] as const)("lazy shard opening (%s backend)", (backend) => {
  it("checks every shard's policy at open, and again only for a shard when it is first read", async () => {
    const evaluator = recordingEvaluator();
    const model = await openModel(A, { backend, keys, policyEvaluator: evaluator });
    expect(evaluator.shards.sort()).toEqual([shard(1), shard(2), shard(3)]);
    const name = inShard(3)[0] as string;
    expect(model.info(name)).toMatchObject({ shard: shard(3), encrypted: true, byteLength: 4000 });
    expect(model.encryption()?.encryptedTensors).toHaveLength(6);
    expect(Buffer.from((await model.getTensor(name)).data)).toEqual(
      Buffer.from(tensors[name]?.data as Uint8Array),
    );
    await model.getTensor(name);
    expect(evaluator.shards.slice(3)).toEqual([shard(3)]);
    const all = await model.readAll();
    expect(Object.keys(all)).toHaveLength(6);
    expect(evaluator.shards.slice(4)).toEqual([shard(2)]);
    await model.close();
  });

  it("a policy that denies when a shard is first read refuses the read (fail closed)", async () => {
    const evaluator = recordingEvaluator();
    const model = await openModel(A, { backend, keys, policyEvaluator: evaluator });
    evaluator.deny = true;
    await expectRejects(model.getTensor(inShard(2)[0] as string), "ERR_POLICY_DENIED");
    await expectRejects(model.readAll(), "ERR_POLICY_DENIED");
    // The shard opened at open keeps serving; a denied shard is asked again on the next read.
    await model.getTensor(inShard(1)[0] as string);
    evaluator.deny = false;
    await model.getTensor(inShard(2)[0] as string);
    await model.close();
  });

  it("a missing master key still fails at open (the first shard is opened there)", async () => {
    await expectRejects(
      openModel(A, { backend, keys: { keys: [keys.keys[1] as never] } }),
      "ERR_KEY_NOT_FOUND",
    );
  });

  it("a shard replaced on disk after open (older version, another model) is refused at its first read", async () => {
    for (const source of [A2, B]) {
      const dir = copyOfA();
      const model = await openModel(dir, { backend, keys, requireBoundShards: true });
      cpSync(join(source, shard(3)), join(dir, shard(3)));
      await expectRejects(model.getTensor(inShard(3)[0] as string), "ERR_MODEL_BINDING");
      await expectRejects(model.readAll(), "ERR_MODEL_BINDING");
      await model.getTensor(inShard(1)[0] as string);
      await model.close();
    }
  });

  it("a shard modified on disk after open fails its own signature at its first read", async () => {
    const dir = copyOfA();
    const model = await openModel(dir, { backend, keys });
    const path = join(dir, shard(2));
    const { header, data } = splitFile(readFileSync(path));
    (header.__metadata__ as Record<string, string>)["cryptotensors.model.shard"] = "3";
    writeFileSync(path, joinFile(header, data));
    await expectRejects(model.getTensor(inShard(2)[0] as string), "ERR_SIGNATURE_INVALID");
    await model.close();
  });

  it("keys parsed once for all shards still open a shard first read late; a caller's KeyRing is never wiped", async () => {
    const model = await openModel(A, { backend, keys });
    // The JWK set was parsed once at open; the lazily opened shard 3 unwraps its keys with it.
    const late = inShard(3)[0] as string;
    expect(Buffer.from((await model.getTensor(late)).data)).toEqual(
      Buffer.from(tensors[late]?.data as Uint8Array),
    );
    await model.close();
    // The second load would fail on wiped keys if the first had wiped the caller's ring.
    const ring = parseKeySet(keys);
    for (let round = 0; round < 2; round++)
      expect(
        Object.keys(await loadModel(A, { backend, keys: ring, verifyKeys: ring })),
      ).toHaveLength(6);
  });

  it("reads after close are refused, also for a shard never opened", async () => {
    const model = await openModel(A, { backend, keys });
    await model.close();
    expect(() => model.getTensor(inShard(3)[0] as string)).toThrow(/closed/);
  });
});
