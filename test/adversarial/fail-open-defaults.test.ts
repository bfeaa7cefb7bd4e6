// Issue 11, finding 5: defaults that used to fail open. Each case is refused now, on both
// backends, through the API and the CLI where both apply.
import { describe, expect, it } from "vitest";
import { CryptoTensorsError, loadFile } from "../../src/index.js";
import { encryptedFile, rewrite, scratchDir } from "./craft.js";

const dir = scratchDir("ct-failopen-");
const BACKENDS = ["native", "fallback"] as const;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof CryptoTensorsError ? error.code : (error as Error).name;
  }
  return "resolved";
}

/** The file with every reserved entry removed: a "stripped" copy whose data is still ciphertext. */
function stripped(file: Awaited<ReturnType<typeof encryptedFile>>): string {
  return rewrite(
    dir,
    file,
    (h) => {
      h.__metadata__ = { format: "pt" };
    },
    { resign: false },
  );
}

describe.each(BACKENDS)("pinned verifyKeys on the %s backend", (backend) => {
  it("imply requireSignature: a stripped file is refused, not returned as ciphertext", async () => {
    const file = await encryptedFile(dir);
    const { d: _private, ...publicSign } = file.signKey;
    const path = stripped(file);
    expect(await codeOf(loadFile(path, { keys: file.keySet, backend }))).toBe("resolved");
    expect(
      await codeOf(loadFile(path, { keys: file.keySet, verifyKeys: [publicSign], backend })),
    ).toBe("ERR_MISSING_SIGNATURE");
  });
});
