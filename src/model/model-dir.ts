// Writing a model directory all at once: everything goes into a temporary directory beside the
// destination, which is renamed into place only when complete, so a failure or an abort never
// leaves a partial model at the destination. Also copies a model's other files (config,
// tokenizer, README, …) byte for byte.
import { constants } from "node:fs";
import { copyFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { CryptoTensorsError } from "../errors.js";
import { syncDirectory } from "../io/durable-file.js";

/**
 * Runs `body` against a fresh temporary directory and renames it to `outDir` on success; removes
 * it on any failure. `outDir` must not exist, or be an empty directory.
 *
 * @example
 * ```ts
 * await writeDirectoryAtomically("out-model", async (dir) => { await saveFile(join(dir, "model.safetensors"), t); });
 * ```
 */
export async function writeDirectoryAtomically<T>(
  outDir: string,
  body: (tempDir: string) => Promise<T>,
): Promise<T> {
  const target = resolve(outDir);
  await checkFreeDestination(target);
  const tempDir = join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  );
  await mkdir(tempDir).catch((cause: NodeJS.ErrnoException) => {
    throw new CryptoTensorsError(
      "ERR_IO",
      `cannot create a temporary directory next to ${outDir}: ${cause.message}`,
      { cause },
    );
  });
  try {
    const result = await body(tempDir);
    await syncDirectory(join(tempDir, "x"));
    await rename(tempDir, target).catch((cause: NodeJS.ErrnoException) => {
      throw new CryptoTensorsError(
        "ERR_IO",
        `cannot move the finished model into ${outDir}: ${cause.message}`,
        { cause },
      );
    });
    await syncDirectory(target);
    return result;
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * Copies every file of `fromDir` (recursively, following symbolic links as HF cache snapshots
 * use them) into `toDir`, except the top-level names in `skip`. Returns the copied paths,
 * relative to `fromDir`.
 *
 * @example
 * ```ts
 * await copyOtherFiles("in-model", tempDir, new Set(["model.safetensors"]));
 * ```
 */
export async function copyOtherFiles(
  fromDir: string,
  toDir: string,
  skip: ReadonlySet<string>,
  prefix = "",
): Promise<string[]> {
  const copied: string[] = [];
  for (const entry of await readdir(fromDir, { withFileTypes: true })) {
    if (prefix === "" && skip.has(entry.name)) continue;
    const from = join(fromDir, entry.name);
    const to = join(toDir, entry.name);
    const info = await stat(from);
    if (info.isDirectory()) {
      await mkdir(to);
      copied.push(...(await copyOtherFiles(from, to, skip, `${prefix}${entry.name}/`)));
    } else if (info.isFile()) {
      await copyFile(from, to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      copied.push(`${prefix}${entry.name}`);
    } else {
      throw new CryptoTensorsError(
        "ERR_MODEL_INVALID",
        `${from} is neither a regular file nor a directory; a model directory holds only files`,
      );
    }
  }
  return copied;
}

async function checkFreeDestination(target: string): Promise<void> {
  const info = await stat(target).catch(() => null);
  if (info === null) return;
  if (!info.isDirectory() || (await readdir(target)).length > 0) {
    throw new CryptoTensorsError(
      "ERR_IO",
      `${target} already exists; choose a new output directory (the model is written there whole, or not at all)`,
    );
  }
}
