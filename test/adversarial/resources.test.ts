// Attacks on the container and on the loader's resources, through openFile on real files with
// both byte backends: each must end in its typed error, quickly and in bounded memory.
import { mkfifoSync } from "./fifo.js";
import { statSync, truncateSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openFile } from "../../src/reader/open-file.js";
import { saveFile } from "../../src/writer/save-file.js";
import {
  assemble,
  editReserved,
  encryptedFile,
  freshPath,
  rewrite,
  sampleTensors,
  scratchDir,
} from "./craft.js";
import { expectRejects } from "./expect-rejects.js";

const dir = scratchDir();
const BACKENDS = ["native", "fallback"] as const;

function hostile(headerText: string, dataLength = 0, declaredLength?: bigint): string {
  const path = freshPath(dir, "hostile");
  writeFileSync(path, assemble(headerText, new Uint8Array(dataLength), declaredLength));
  return path;
}

const entry = (name: string, dtype: string, shape: string, offsets: string): string =>
  `"${name}":{"dtype":"${dtype}","shape":${shape},"data_offsets":${offsets}}`;

describe.each(BACKENDS)("container attacks through openFile (%s backend)", (backend) => {
  // Attack: a header length that runs past the end of the file (would read beyond it).
  it("refuses a header length beyond the file", async () => {
    await expectRejects(
      openFile(hostile("{}", 0, 1_000n), { backend }),
      "ERR_INVALID_HEADER_LENGTH",
    );
    await expectRejects(openFile(hostile("{}", 0, 1n << 62n), { backend }), "ERR_HEADER_TOO_LARGE");
  });

  // Attack: a header of 100 MB of '[' (deep nesting as a memory and stack bomb), from disk.
  it("refuses 100 MB of '[' quickly and in bounded memory", async () => {
    const path = freshPath(dir, "brackets");
    writeFileSync(path, assemble("[".repeat(100_000_000), new Uint8Array(0)));
    const before = process.memoryUsage().rss;
    await expectRejects(openFile(path, { backend }), "ERR_HEADER_DESERIALIZATION", 10_000);
    // The header bytes and their decoded text are the only large allocations.
    expect(process.memoryUsage().rss - before).toBeLessThan(600_000_000);
    truncateSync(path, 0);
  });

  // Attack: JSON nested 100,000 deep, in the header and inside a reserved entry's JSON string.
  it("refuses JSON nested 100,000 deep", async () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    await expectRejects(
      openFile(hostile(`{"__metadata__":${deep}}`), { backend }),
      "ERR_HEADER_DESERIALIZATION",
    );
    const file = await encryptedFile(dir);
    const codes = {
      __crypto_keys__: "ERR_CRYPTO_KEYS_INVALID",
      __encryption__: "ERR_ENCRYPTION_INVALID",
      __policy__: "ERR_POLICY_MISSING",
    } as const;
    for (const [key, code] of Object.entries(codes)) {
      const path = rewrite(dir, file, (h) => {
        h.__metadata__![key] = `{"x":${deep}}`;
      });
      await expectRejects(openFile(path, { keys: file.keySet, backend }), code);
    }
  });

  // Attack: a shape whose element product overflows 64 bits (wraps to a small size in naive code).
  it("refuses a shape product overflowing 64 bits", async () => {
    const path = hostile(`{${entry("x", "U8", "[4294967296,4294967296]", "[0,1]")}}`, 1);
    await expectRejects(openFile(path, { backend }), "ERR_VALIDATION_OVERFLOW");
    const bits = hostile(`{${entry("x", "F64", "[2305843009213693952]", "[0,1]")}}`, 1);
    await expectRejects(openFile(bits, { backend }), "ERR_VALIDATION_OVERFLOW");
  });

  // Attack: data offsets beyond the end of the file (a read past EOF or a huge allocation).
  it("refuses offsets beyond the file", async () => {
    await expectRejects(
      openFile(hostile(`{${entry("x", "U8", "[1000000000]", "[0,1000000000]")}}`, 4), { backend }),
      "ERR_METADATA_INCOMPLETE_BUFFER",
    );
    await expectRejects(
      openFile(
        hostile(`{${entry("x", "U8", "[4]", "[0,4]")},${entry("y", "U8", "[4]", "[4,8]")}}`, 6),
        { backend },
      ),
      "ERR_METADATA_INCOMPLETE_BUFFER",
    );
  });

  // Attack: overlapping tensors (two names aliasing the same bytes) and gapped tensors (hidden bytes).
  it("refuses overlapping and gapped tensors", async () => {
    const overlap = hostile(
      `{${entry("a", "U8", "[4]", "[0,4]")},${entry("b", "U8", "[4]", "[2,6]")}}`,
      6,
    );
    await expectRejects(openFile(overlap, { backend }), "ERR_TENSOR_INVALID_OFFSET");
    const gap = hostile(
      `{${entry("a", "U8", "[4]", "[0,4]")},${entry("b", "U8", "[4]", "[5,9]")}}`,
      9,
    );
    await expectRejects(openFile(gap, { backend }), "ERR_TENSOR_INVALID_OFFSET");
  });

  // Attack: duplicate keys at every level of the outer header (tensor, __metadata__, metadata key, tensor field).
  it.each([
    ["a tensor name", `{${entry("a", "U8", "[1]", "[0,1]")},${entry("a", "U8", "[1]", "[0,1]")}}`],
    ["__metadata__", `{"__metadata__":{},"__metadata__":{"__encryption__":"{}"}}`],
    ["a metadata key", `{"__metadata__":{"__encryption__":"{}","__encryption__":"{}"}}`],
    ["a tensor field", `{"a":{"dtype":"U8","shape":[1],"shape":[1],"data_offsets":[0,1]}}`],
  ])("refuses a repeated %s", async (_what, header) => {
    await expectRejects(
      openFile(hostile(header, header.includes("[0,1]") ? 1 : 0), { backend }),
      "ERR_HEADER_DUPLICATE_KEY",
    );
  });

  // Attack: the model path itself is a FIFO with no writer, /dev/zero or a directory: refused at open, no hang.
  it("refuses a FIFO, a device or a directory as the model path without blocking", async () => {
    const fifo = join(dir, `model-${backend}.fifo`);
    mkfifoSync(fifo);
    for (const path of [fifo, "/dev/zero", dir]) {
      await expectRejects(openFile(path, { backend }), "ERR_IO");
    }
  });

  // Attack: the file shrinks while open (another process truncates it): reads fail, no SIGBUS.
  it("fails with ERR_FILE_TRUNCATED when the file is truncated while open", async () => {
    const plainPath = freshPath(dir, "shrinking");
    const big = {
      big: { dtype: "U8" as const, shape: [3 << 20], data: new Uint8Array(3 << 20).fill(7) },
    };
    await saveFile(plainPath, { ...sampleTensors(), ...big });
    const file = await encryptedFile(dir, { chunkSize: 4 });
    for (const [path, keys] of [
      [plainPath, undefined],
      [file.path, file.keySet],
    ] as const) {
      // Cut inside the last tensor (a partial page of a mapping reads as zeros, not as a fault),
      // then down to the header (whole pages gone).
      const opened = await openFile(path, { backend, ...(keys ? { keys } : {}) });
      const last = opened.names().at(-1) as string;
      truncateSync(path, statSync(path).size - 5);
      await expectRejects(opened.getTensor(last), "ERR_FILE_TRUNCATED");
      truncateSync(path, 64);
      for (const name of opened.names()) {
        if (opened.info(name).byteLength > 0)
          await expectRejects(opened.getTensor(name), "ERR_FILE_TRUNCATED");
      }
      await opened.close();
    }
  });
});

describe("jku: the header cannot make the loader open a path", () => {
  // Attack: a jku naming /dev/zero, a FIFO with no writer, or a URL: a loader that followed it would hang or leak.
  it("does not follow a jku to /dev/zero, a FIFO or a URL (no hang, no connection)", async () => {
    const fifo = join(dir, "keys.fifo");
    mkfifoSync(fifo);
    let connections = 0;
    const server = createServer((_req, res) => res.end("{}"));
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      for (const jku of [
        "file:///dev/zero",
        `file://${fifo}`,
        `http://127.0.0.1:${port}/keys.json`,
      ]) {
        const file = await encryptedFile(dir);
        const path = rewrite(dir, file, (h) => {
          editReserved(h, "__crypto_keys__", (keys) => {
            keys["enc"].jku = jku;
            keys["sign"].jku = jku;
          });
        });
        // No keys given: the jku is the only source, and it must be refused, not opened (a URL is
        // not even a candidate: no provider fetches keys over the network).
        await expectRejects(
          openFile(path),
          jku.startsWith("file:") ? "ERR_KEY_UNTRUSTED" : "ERR_KEY_NOT_FOUND",
        );
        // With the right keys the file opens: the jku is never consulted.
        const opened = await openFile(path, { keys: file.keySet });
        await opened.close();
      }
      // Even inside an allowed root, a FIFO or a device is refused without blocking.
      const file = await encryptedFile(dir);
      for (const [jku, root] of [
        [`file://${fifo}`, dir],
        ["file:///dev/zero", "/dev"],
      ] as const) {
        const path = rewrite(dir, file, (h) =>
          editReserved(h, "__crypto_keys__", (keys) => {
            keys["enc"].jku = jku;
            keys["sign"].jku = jku;
          }),
        );
        await expectRejects(openFile(path, { jkuRoots: [root] }), "ERR_KEY_INVALID");
      }
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });
});

describe("policy attacks", () => {
  // Attack: a policy that loops (10^8 iterations of nested `some`): the step budget stops it.
  it("stops a looping policy with ERR_POLICY_EVAL, within seconds", async () => {
    const xs = Array.from({ length: 100 }, (_, i) => i).join(",");
    const looping = `package model\nimport rego.v1\nxs := [${xs}]\nallow if {\n  some a in xs\n  some b in xs\n  some c in xs\n  some d in xs\n  a + b + c + d < 0\n}`;
    const file = await encryptedFile(dir);
    const path = rewrite(dir, file, (h) =>
      editReserved(h, "__policy__", (p) => (p["local"] = looping)),
    );
    await expectRejects(openFile(path, { keys: file.keySet }), "ERR_POLICY_EVAL", 10_000);
  }, 20_000);

  // Attack: an enormous policy (8 MB of rules): refused by size before it is parsed.
  it("refuses an enormous policy by its size", async () => {
    const rules = Array.from({ length: 200_000 }, (_, i) => `r${i} := ${i}`).join("\n");
    const file = await encryptedFile(dir);
    const path = rewrite(dir, file, (h) =>
      editReserved(h, "__policy__", (p) => (p["local"] = `package model\nallow := true\n${rules}`)),
    );
    await expectRejects(openFile(path, { keys: file.keySet }), "ERR_POLICY_UNSUPPORTED");
  });
});
