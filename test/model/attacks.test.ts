// Attacks on a sharded encrypted model (issue 15, docs/sharded-models.md): each one must end in a
// typed refusal from openModel and verifyModel, on both byte backends.
import { cpSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  convertFile,
  generateKeySet,
  openModel,
  rewrapFile,
  saveModel,
  verifyModel,
  type ErrorCode,
} from "../../src/index.js";
import { expectRejects } from "../adversarial/expect-rejects.js";
import { joinFile, type RefJwk, resignFile, splitFile } from "../interop/reference.js";
import { tempDir } from "../support/temp-dir.js";
import { editIndex, INDEX, keysAndEncryption, randomModel } from "./helpers.js";

const root = tempDir("ct-model-attacks-");
const shard = (i: number) => `model-0000${i}-of-00003.safetensors`;
const { keys, encryption } = keysAndEncryption();
const tensors = randomModel(6, 1000); // 4000 bytes each, two per 8000-byte shard
let copies = 0;
const A = join(root, "A"); // the genuine model
const A2 = join(root, "A2"); // the same model encrypted again (an older version)
const B = join(root, "B"); // another model, same keys, same shard names
const PLAIN = join(root, "plain");
const C = join(root, "C"); // another model whose tensors have other names

beforeAll(async () => {
  await saveModel(A, tensors, { maxShardSize: 8000, encryption });
  await saveModel(A2, tensors, { maxShardSize: 8000, encryption });
  await saveModel(B, randomModel(6, 1000), { maxShardSize: 8000, encryption });
  await saveModel(PLAIN, tensors, { maxShardSize: 8000 });
  const other = Object.entries(randomModel(6, 1000)).map(([name, t]) => [`extra.${name}`, t]);
  await saveModel(C, Object.fromEntries(other), { maxShardSize: 8000, encryption });
});

/** A fresh copy of model A, changed by `attack`. */
function attacked(attack: (dir: string) => void | Promise<void>): Promise<string> {
  const dir = join(root, `copy${copies++}`);
  cpSync(A, dir, { recursive: true });
  return Promise.resolve(attack(dir)).then(() => dir);
}

/** Rewrites one shard's header metadata (unsigned edit: the signature no longer holds). */
function editShardMetadata(path: string, edit: (metadata: Record<string, string>) => void): void {
  const { header, data } = splitFile(readFileSync(path));
  edit(header.__metadata__ as Record<string, string>);
  writeFileSync(path, joinFile(header, data));
}

describe.each(["native", "fallback"] as const)(
  "attacks on a bound model (%s backend)",
  (backend) => {
    const refused = async (dir: string, code: ErrorCode, verifyCode: ErrorCode = code) => {
      await expectRejects(openModel(dir, { backend, keys }), code);
      await expectRejects(verifyModel(dir, { backend, keys }), verifyCode);
    };

    it("the genuine model opens bound", async () => {
      const model = await openModel(A, { backend, keys, requireBoundShards: true });
      expect(model.binding.bound).toBe(true);
      await model.close();
    });

    it("refuses a missing shard (file and index entries removed)", async () => {
      const dir = await attacked((d) => {
        rmSync(join(d, shard(2)));
        editIndex(d, (index) => {
          for (const [name, file] of Object.entries(index.weight_map))
            if (file === shard(2)) delete index.weight_map[name];
          index.metadata.total_size = 4 * 4000;
        });
      });
      await refused(dir, "ERR_MODEL_BINDING");
    });

    it("refuses a missing shard file the index still names", async () => {
      await refused(await attacked((d) => rmSync(join(d, shard(3)))), "ERR_IO");
    });

    it("refuses an extra shard from another model listed in the index", async () => {
      const extra = "model-00004-of-00003.safetensors";
      const dir = await attacked((d) => {
        cpSync(join(C, shard(1)), join(d, extra));
        const theirs = JSON.parse(readFileSync(join(C, INDEX), "utf8")).weight_map;
        editIndex(d, (index) => {
          for (const [name, file] of Object.entries(theirs))
            if (file === shard(1)) index.weight_map[name] = extra;
          index.metadata.total_size = 8 * 4000;
        });
      });
      await refused(dir, "ERR_MODEL_BINDING");
    });

    it("refuses swapped shards, with or without the index fixed up to match", async () => {
      const swap = (d: string) => {
        renameSync(join(d, shard(1)), join(d, "tmp"));
        renameSync(join(d, shard(2)), join(d, shard(1)));
        renameSync(join(d, "tmp"), join(d, shard(2)));
      };
      await refused(await attacked(swap), "ERR_MODEL_BINDING");
      const fixed = await attacked((d) => {
        swap(d);
        editIndex(d, (index) => {
          for (const [name, file] of Object.entries(index.weight_map)) {
            if (file === shard(1)) index.weight_map[name] = shard(2);
            if (file === shard(2)) index.weight_map[name] = shard(1);
          }
        });
      });
      await refused(fixed, "ERR_MODEL_BINDING");
    });

    it("refuses a shard replayed from another model or from an older version of this one", async () => {
      for (const source of [B, A2]) {
        const dir = await attacked((d) => {
          cpSync(join(source, shard(2)), join(d, shard(2)));
          if (source === B) {
            const theirs = JSON.parse(readFileSync(join(B, INDEX), "utf8")).weight_map;
            editIndex(d, (index) => {
              for (const [name, file] of Object.entries(index.weight_map))
                if (file === shard(2)) delete index.weight_map[name];
              for (const [name, file] of Object.entries(theirs))
                if (file === shard(2)) index.weight_map[name] = file as string;
            });
          }
        });
        await refused(dir, "ERR_MODEL_BINDING");
      }
    });

    it("refuses a modified shard: its own signature fails", async () => {
      const dir = await attacked((d) =>
        editShardMetadata(join(d, shard(1)), (m) => {
          m["cryptotensors.model.shard"] = "2";
        }),
      );
      await refused(dir, "ERR_SIGNATURE_INVALID");
    });

    it("refuses a weight_map that disagrees with the shards", async () => {
      const moved = await attacked((d) =>
        editIndex(d, (index) => {
          index.weight_map["model.layers.0.mlp.weight"] = shard(3);
        }),
      );
      await refused(moved, "ERR_MODEL_BINDING");
      const invented = await attacked((d) =>
        editIndex(d, (index) => {
          index.weight_map["lm_head.weight"] = shard(1);
        }),
      );
      await refused(invented, "ERR_MODEL_BINDING");
      const dropped = await attacked((d) =>
        editIndex(d, (index) => {
          delete index.weight_map["model.layers.5.mlp.weight"];
        }),
      );
      await refused(dropped, "ERR_MODEL_BINDING");
    });

    it("refuses a total_size or index binding field that disagrees", async () => {
      await refused(
        await attacked((d) =>
          editIndex(d, (index) => {
            index.metadata.total_size = 1;
          }),
        ),
        "ERR_MODEL_BINDING",
      );
      await refused(
        await attacked((d) =>
          editIndex(d, (index) => {
            index.metadata["cryptotensors.model.set"] = "0".repeat(32);
          }),
        ),
        "ERR_MODEL_BINDING",
      );
    });

    it("refuses shards that do not share the policy or the keys", async () => {
      const policy = await attacked((d) =>
        rewrapFile(join(d, shard(2)), {
          oldKeys: keys,
          policy: { local: "package model\ndefault allow = true" },
        }).then(() => undefined),
      );
      await refused(policy, "ERR_MODEL_BINDING");
      const other = generateKeySet({ encKid: "enc-2", signKid: "sign-2" });
      const both = { keys: [...keys.keys, ...other.keys] };
      const rekeyed = await attacked((d) =>
        rewrapFile(join(d, shard(3)), {
          oldKeys: keys,
          newEncKey: other.keys[0],
          newSignKey: other.keys[1],
        }).then(() => undefined),
      );
      await expectRejects(openModel(rekeyed, { backend, keys: both }), "ERR_MODEL_BINDING");
    });

    it("refuses a plain shard in an encrypted model", async () => {
      const dir = await attacked((d) => cpSync(join(PLAIN, shard(2)), join(d, shard(2))));
      await refused(dir, "ERR_MODEL_BINDING", "ERR_NOT_ENCRYPTED");
    });

    it("refuses an index naming a file outside the model directory, or repeating a key", async () => {
      const outside = await attacked((d) =>
        editIndex(d, (index) => {
          index.weight_map["model.layers.0.mlp.weight"] = "../A/model-00001-of-00003.safetensors";
        }),
      );
      await refused(outside, "ERR_MODEL_INVALID");
      const repeated = await attacked((d) => {
        const text = readFileSync(join(d, INDEX), "utf8");
        writeFileSync(
          join(d, INDEX),
          text.replace(
            '"weight_map": {',
            `"weight_map": {"model.layers.0.mlp.weight": "${shard(2)}",`,
          ),
        );
      });
      await refused(repeated, "ERR_MODEL_INVALID");
    });

    it("shards encrypted one by one (no binding) open with a warning, or are refused under requireBoundShards", async () => {
      const dir = join(root, `unbound-${backend}`);
      cpSync(PLAIN, dir, { recursive: true });
      for (const i of [1, 2, 3]) {
        await convertFile(join(PLAIN, shard(i)), join(dir, shard(i)), { encryption });
      }
      const warnings: string[] = [];
      const model = await openModel(dir, { backend, keys, onWarning: (m) => warnings.push(m) });
      expect(model.binding).toMatchObject({ encrypted: true, bound: false });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("unbound shards");
      await model.close();
      await expectRejects(
        openModel(dir, { backend, keys, requireBoundShards: true }),
        "ERR_MODEL_UNBOUND",
      );
      await expectRejects(
        verifyModel(dir, { backend, keys, requireBoundShards: true }),
        "ERR_MODEL_UNBOUND",
      );
    });

    it("refuses validly signed but inconsistent binding fields (a buggy or hostile signer)", async () => {
      const resign = (d: string, i: number, edit: (m: Record<string, string>) => void) => {
        const path = join(d, shard(i));
        const { header, data } = splitFile(readFileSync(path));
        edit(header.__metadata__ as Record<string, string>);
        writeFileSync(path, resignFile(header, data, keys.keys[1] as unknown as RefJwk));
      };
      const set = (key: string, value: string) => (m: Record<string, string>) => {
        m[`cryptotensors.model.${key}`] = value;
      };
      const cases: Array<(d: string) => void> = [
        (d) => resign(d, 3, set("shard", "1")), // two shards claim position 1
        (d) => resign(d, 3, set("shard", "4")), // past the count
        (d) => resign(d, 3, set("shards", "4")), // count disagrees
        (d) => resign(d, 3, set("shard", "03")), // not canonical
        (d) =>
          resign(d, 3, (m) => {
            delete m["cryptotensors.model.set"];
          }), // incomplete
        (d) =>
          resign(d, 3, (m) => {
            for (const key of Object.keys(m)) if (key.startsWith("cryptotensors.")) delete m[key];
          }), // one unbound shard among bound ones
      ];
      for (const attack of cases) await refused(await attacked(attack), "ERR_MODEL_BINDING");
    });
  },
);
