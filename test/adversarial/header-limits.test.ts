// Issue 11, finding 6: a hostile header (a huge shape, hundreds of thousands of tensors, tens of
// thousands of metadata keys) is refused with ERR_HEADER_LIMIT while it is parsed, in bounded
// memory: each file is opened in a child process with a 384 MB heap, on both backends.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { HEADER_LIMITS, inspectFile } from "../../src/index.js";
import { tempDir } from "../integration/helpers.js";

const dir = tempDir("ct-limits-");
const DIST = resolve(__dirname, "../../dist/index.js");

function fileWithHeader(name: string, header: string): string {
  const bytes = Buffer.from(header, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(bytes.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([prefix, bytes]));
  return path;
}

const cases: Array<[string, () => string]> = [
  [
    "a shape of 2,000,000 dimensions",
    () =>
      `{"w":{"dtype":"U8","shape":[${Array(2_000_000).fill(1).join(",")}],"data_offsets":[0,1]}}`,
  ],
  [
    `${HEADER_LIMITS.maxTensors + 2} empty tensors`,
    () => {
      const parts: string[] = [];
      for (let i = 0; i < HEADER_LIMITS.maxTensors + 2; i++)
        parts.push(`"t${i}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`);
      return `{${parts.join(",")}}`;
    },
  ],
  [
    "1,000,000 metadata entries",
    () => {
      const parts: string[] = [];
      for (let i = 0; i < 1_000_000; i++) parts.push(`"k${i}":""`);
      return `{"__metadata__":{${parts.join(",")}}}`;
    },
  ],
];

/** Opens `path` in a child with a small heap (async: the worker stays responsive); its answer. */
function openInChild(
  path: string,
  backend: string,
): Promise<{ code: string; status: number | null }> {
  const script = `import(${JSON.stringify(DIST)}).then(async (m) => {
    try { const f = await m.openFile(${JSON.stringify(path)}, { backend: ${JSON.stringify(backend)} }); await f.close(); console.log("opened"); }
    catch (e) { console.log(e.code ?? e.name); }
  });`;
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--max-old-space-size=384", "-e", script], {
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 60_000,
    });
    let stdout = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.on("close", (status) => done({ code: stdout.trim(), status }));
  });
}

describe("header limits", () => {
  it.each(cases)(
    "%s: ERR_HEADER_LIMIT, in bounded memory, on both backends",
    async (_, make) => {
      const path = fileWithHeader(`${Math.random().toString(36).slice(2)}.safetensors`, make());
      // Parsed only in the children: parsing 131k entries is synchronous for seconds and would
      // stall this test worker's RPC with vitest.
      for (const backend of ["native", "fallback"]) {
        expect(await openInChild(path, backend)).toEqual({ code: "ERR_HEADER_LIMIT", status: 0 });
      }
    },
    120_000,
  );

  it("a header at the limits still opens", async () => {
    const rank = Array(HEADER_LIMITS.maxRank).fill(1).join(",");
    const meta: string[] = [];
    for (let i = 0; i < HEADER_LIMITS.maxMetadataEntries; i++) meta.push(`"k${i}":"v"`);
    const path = fileWithHeader(
      "at-limits.safetensors",
      `{"__metadata__":{${meta.join(",")}},"w":{"dtype":"U8","shape":[${rank}],"data_offsets":[0,0]}}`.replace(
        '"data_offsets":[0,0]',
        '"data_offsets":[0,1]',
      ),
    );
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.alloc(1)]));
    const d = await inspectFile(path);
    expect(d.tensors[0]?.shape.length).toBe(HEADER_LIMITS.maxRank);
    expect(Object.keys(d.metadata).length).toBe(HEADER_LIMITS.maxMetadataEntries);
  });
});
