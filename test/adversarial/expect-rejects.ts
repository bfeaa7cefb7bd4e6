// Assertions shared by the adversarial suites: an attack must end in the typed error, quickly.
import { expect } from "vitest";
import { CryptoTensorsError, type ErrorCode } from "../../src/errors.js";

/** Awaits `work` and returns the code of the CryptoTensorsError it rejects with (anything else fails). */
export async function codeOf(
  work: Promise<unknown> | (() => Promise<unknown>),
): Promise<ErrorCode> {
  try {
    await (typeof work === "function" ? work() : work);
  } catch (error) {
    if (error instanceof CryptoTensorsError) return error.code;
    throw error;
  }
  throw new Error("the attack was accepted");
}

/** Expects `work` to reject with `code` within `ms` milliseconds. */
export async function expectRejects(
  work: Promise<unknown> | (() => Promise<unknown>),
  code: ErrorCode,
  ms = 5_000,
): Promise<void> {
  const started = performance.now();
  expect(await codeOf(work)).toBe(code);
  expect(performance.now() - started).toBeLessThan(ms);
}
