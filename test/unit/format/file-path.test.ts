// Paths as string | URL in the public API (issue 12 item 7).
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { inspectFile, loadFile, saveFile, verifyFile } from "../../../src/index.js";
import { toFilePath } from "../../../src/format/file-path.js";
import { tempDir } from "../../integration/helpers.js";

const dir = tempDir("ct-url-");

describe("file: URLs as paths", () => {
  it("toFilePath converts file: URLs and refuses other schemes", () => {
    expect(toFilePath(new URL("file:///models/m.safetensors"))).toBe("/models/m.safetensors");
    expect(toFilePath("rel/m.safetensors")).toBe("rel/m.safetensors");
    expect(() => toFilePath(new URL("https://example.com/m.safetensors"))).toThrow(TypeError);
  });

  it("saveFile, loadFile, inspectFile and verifyFile take a URL", async () => {
    const url = pathToFileURL(join(dir, "u.safetensors"));
    await saveFile(url, { w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
    const { w } = await loadFile(url);
    expect(w?.shape).toEqual([2]);
    expect((await inspectFile(url)).tensors.map((t) => t.name)).toEqual(["w"]);
    // The URL reached the file: a plain file has nothing to verify.
    await expect(verifyFile(url)).rejects.toMatchObject({ code: "ERR_NOT_ENCRYPTED" });
    await expect(loadFile(new URL("ftp://127.0.0.1/m.safetensors"))).rejects.toThrow(TypeError);
  });
});
