// The one "this must fail with that error code" assertion of the test suites. Accepts a promise
// (awaited), a function returning a promise (called, then awaited) or a synchronous function; the
// caught CryptoTensorsError is returned for further checks on its message or cause.
import { expect } from "vitest";
import { CryptoTensorsError, type ErrorCode } from "../../src/errors.js";

function check(caught: unknown, threw: boolean, code: ErrorCode): CryptoTensorsError {
  expect(threw, `expected ${code}, but nothing was thrown`).toBe(true);
  if (!(caught instanceof CryptoTensorsError)) {
    // Fail with the unexpected error itself, so its stack shows where it came from.
    throw caught;
  }
  expect(caught.code, caught.message).toBe(code);
  return caught;
}

/**
 * Expects `work` to fail with a CryptoTensorsError of `code`, and returns that error.
 *
 * @example
 * ```ts
 * expectCode(() => parseAlgorithm("rot13"), "ERR_INVALID_ALGORITHM");
 * await expectCode(openFile(path), "ERR_FILE_TRUNCATED");
 * ```
 */
export function expectCode(work: Promise<unknown>, code: ErrorCode): Promise<CryptoTensorsError>;
export function expectCode(
  work: () => Promise<unknown>,
  code: ErrorCode,
): Promise<CryptoTensorsError>;
export function expectCode(work: () => unknown, code: ErrorCode): CryptoTensorsError;
export function expectCode(
  work: Promise<unknown> | (() => unknown),
  code: ErrorCode,
): CryptoTensorsError | Promise<CryptoTensorsError> {
  let pending: unknown;
  if (typeof work === "function") {
    try {
      pending = work();
    } catch (error) {
      return check(error, true, code);
    }
    if (!(pending instanceof Promise)) return check(undefined, false, code);
  } else {
    pending = work;
  }
  return (pending as Promise<unknown>).then(
    () => check(undefined, false, code),
    (error: unknown) => check(error, true, code),
  );
}
