// Holds the serving session: loads the encrypted model through cryptotensors/onnxruntime, checks
// each caller's claims against the model's own policy, and reloads (new keys, rewrapped file)
// without dropping requests: in-flight requests finish on the session they started on, which is
// released once the last of them is done.
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { verifyFile } from "cryptotensors";
import { createInferenceSession, WEIGHTS_FILE } from "cryptotensors/onnxruntime";

/**
 * @example
 * const holder = new ModelHolder({ modelDir, jkuRoots: [keysDir], serverClaims: { role: "server" } });
 * await holder.load();
 * const outputs = await holder.run(claims, feeds);
 */
export class ModelHolder {
  #current = null; // { session, generation, inFlight, retired }
  #generation = 0;
  #reloading = null;

  constructor({ modelDir, jkuRoots, serverClaims }) {
    this.modelDir = modelDir;
    this.weightsPath = join(modelDir, WEIGHTS_FILE);
    this.openOptions = { jkuRoots };
    this.serverClaims = serverClaims;
  }

  get generation() {
    return this.#current?.generation ?? 0;
  }

  get session() {
    return this.#current?.session ?? null;
  }

  /** Loads (or reloads) the model; the previous session keeps serving until the new one is ready. */
  load() {
    this.#reloading ??= (async () => {
      try {
        const session = await createInferenceSession(ort, this.modelDir, {
          ...this.openOptions,
          claims: this.serverClaims,
          sessionOptions: { intraOpNumThreads: 1 },
        });
        const previous = this.#current;
        this.#current = { session, generation: ++this.#generation, inFlight: 0, retired: false };
        if (previous) this.#retire(previous);
      } finally {
        this.#reloading = null;
      }
    })();
    return this.#reloading;
  }

  /** Checks the caller's claims against the model's policy (ERR_POLICY_DENIED when refused). */
  async authorize(claims) {
    await verifyFile(this.weightsPath, { ...this.openOptions, claims });
  }

  /** Runs the current session, keeping it alive until this run is done. */
  async run(feeds) {
    const entry = this.#current;
    if (!entry) throw new Error("no model is loaded");
    entry.inFlight++;
    try {
      return await entry.session.run(feeds);
    } finally {
      entry.inFlight--;
      if (entry.retired && entry.inFlight === 0) await entry.session.release();
    }
  }

  /** Waits for a reload under way, then releases the current session once idle. */
  async close() {
    await this.#reloading?.catch(() => undefined);
    const entry = this.#current;
    this.#current = null;
    if (entry) await this.#retire(entry);
  }

  async #retire(entry) {
    entry.retired = true;
    if (entry.inFlight === 0) await entry.session.release();
  }
}
