// Model.readAll wipes the tensors it already read when a later shard fails. When the caller
// transferred the `into` buffer meanwhile, those tensors are views over a detached buffer: the
// wipe must skip them (there is nothing of ours left) instead of throwing a TypeError that hides
// the typed error, and the next shard's destination must not be cut from the detached buffer
// (subarray throws a TypeError too).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openModel, saveModel } from "../../src/index.js";
import { tempDir } from "../support/temp-dir.js";
import { keysAndEncryption, randomModel } from "./helpers.js";

const root = tempDir("ct-model-detach-");

describe.each(["native", "fallback"] as const)("Model.readAll (%s backend)", (backend) => {
  it("into a buffer transferred after the first shard: a typed error, not a TypeError from the wipe", async () => {
    const tensors = randomModel(4, 3000);
    const { keys, encryption } = keysAndEncryption();
    const dir = join(root, backend);
    await saveModel(dir, tensors, { maxShardSize: 12_000, encryption });
    const model = await openModel(dir, { backend, keys });
    try {
      const arena = new ArrayBuffer(model.readAllByteLength());
      let moved: ArrayBuffer | undefined;
      const reading = model.readAll({
        into: arena,
        onProgress: () => {
          // The first progress event comes once the first shard's tensor is in.
          moved ??= structuredClone(arena, { transfer: [arena] });
        },
      });
      const error = await reading.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(moved?.byteLength).toBe(model.readAllByteLength());
      expect(error).toMatchObject({ code: "ERR_DESTINATION_DETACHED" });
    } finally {
      await model.close();
    }
  });
});
