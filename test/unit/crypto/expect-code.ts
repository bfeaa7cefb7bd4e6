// Shared assertion: `run` throws a CryptoTensorsError with `code`; returns it for more checks.
import { expect } from "vitest";
import { CryptoTensorsError, type ErrorCode } from "../../../src/errors.js";

export function expectCode(run: () => unknown, code: ErrorCode): CryptoTensorsError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code} to be thrown`).toBeInstanceOf(CryptoTensorsError);
  const error = caught as CryptoTensorsError;
  expect(error.code, error.message).toBe(code);
  return error;
}
