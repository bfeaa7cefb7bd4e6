// Property: for any model (tensor sizes incl. empty, v1/v2, chunk size), any new kid lengths
// (so the header shrinks, stays or grows) and either destination (in place or another file),
// rewrapFile keeps the data section byte for byte, the new keys load the same tensors, and the
// old master key no longer unwraps anything.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKeys, loadFile, rewrapFile, saveFile } from "../../src/index.js";
import { tempDir } from "../integration/helpers.js";
import { dataSection, rejectsWith, sha256 } from "./helpers.js";

const dir = tempDir("ct-rewrap-prop-");
let counter = 0;

describe("rewrapFile (property)", () => {
  it("preserves data and tensors for every layout, version and destination", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 700 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom<"1" | "2">("1", "2"),
        fc.integer({ min: 1, max: 300 }),
        fc.constantFrom("aes256gcm", "aes128gcm", "chacha20poly1305") as fc.Arbitrary<
          "aes256gcm" | "aes128gcm" | "chacha20poly1305"
        >,
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.boolean(),
        async (buffers, version, chunkSize, alg, newKid, inPlace) => {
          const path = join(dir, `m${counter++}.ct`);
          const oldKeys = generateKeys({ alg, encKid: "enc-old-0123456789", signKid: "sign-old" });
          const newKeys = generateKeys({ alg, encKid: newKid, signKid: `s-${newKid}` });
          const tensors = Object.fromEntries(
            buffers.map((data, i) => [
              `t${i}`,
              { dtype: "U8" as const, shape: [data.length], data },
            ]),
          );
          await saveFile(path, tensors, {
            encryption: {
              encKey: oldKeys.keys[0],
              signKey: oldKeys.keys[1],
              version,
              ...(version === "2" ? { chunkSize } : {}),
            },
          });
          const before = sha256(dataSection(path));
          const output = inPlace ? path : join(dir, `m${counter++}.out.ct`);
          const result = await rewrapFile(path, {
            oldKeys,
            newEncKey: newKeys.keys[0],
            newSignKey: newKeys.keys[1],
            output,
          });
          expect(["in-place", "clone", "copy"]).toContain(result.method);
          expect(result.method === "copy").toBe(result.headerLength > result.previousHeaderLength);
          expect(sha256(dataSection(output))).toBe(before);
          expect(Number(readFileSync(output).readBigUInt64LE(0))).toBe(result.headerLength);
          const loaded = await loadFile(output, { keys: newKeys });
          for (const [name, t] of Object.entries(tensors))
            expect(Buffer.from(loaded[name]!.data).equals(Buffer.from(t.data))).toBe(true);
          const oldMaster = { keys: [{ ...oldKeys.keys[0], kid: newKid }, newKeys.keys[1]] };
          await rejectsWith(loadFile(output, { keys: oldMaster }), "ERR_DECRYPTION_FAILED");
        },
      ),
      { numRuns: 40 },
    );
  });
});
