// Backend selection: argument > CRYPTOTENSORS_BACKEND > native-with-fallback.
import { describe, expect, it, vi } from "vitest";
import { CryptoTensorsError } from "../../src/errors.js";
import type { Backend } from "../../src/native/backend.js";
import { selectBackend } from "../../src/native/select.js";

const native = { name: "native" } as Backend;
const fallback = { name: "fallback" } as Backend;
const unavailable = new CryptoTensorsError(
  "ERR_NATIVE_UNAVAILABLE",
  "the addon could not be loaded (boom)",
);

function sources(nativeLoads: boolean) {
  return {
    native: vi.fn(() => {
      if (!nativeLoads) throw unavailable;
      return native;
    }),
    fallback: vi.fn(() => fallback),
    warnFallback: vi.fn(),
  };
}

describe("selectBackend", () => {
  it("defaults to native", () => {
    const s = sources(true);
    expect(selectBackend(undefined, undefined, s)).toBe(native);
    expect(s.warnFallback).not.toHaveBeenCalled();
  });

  it("falls back with a warning carrying the loader error when the default cannot load", () => {
    const s = sources(false);
    expect(selectBackend(undefined, undefined, s)).toBe(fallback);
    expect(s.warnFallback).toHaveBeenCalledWith(unavailable);
  });

  it("honours the environment, and the argument over it", () => {
    const s = sources(true);
    expect(selectBackend(undefined, "fallback", s)).toBe(fallback);
    expect(selectBackend("native", "fallback", s)).toBe(native);
    expect(selectBackend("fallback", "native", s)).toBe(fallback);
    expect(selectBackend(undefined, "", s)).toBe(native);
  });

  it("fails loudly when native is requested explicitly but unavailable", () => {
    const s = sources(false);
    expect(() => selectBackend("native", undefined, s)).toThrow(unavailable);
    expect(() => selectBackend(undefined, "native", s)).toThrow(unavailable);
    expect(s.warnFallback).not.toHaveBeenCalled();
  });

  it("rejects unknown names", () => {
    const s = sources(true);
    expect(() => selectBackend("wasm", undefined, s)).toThrow(TypeError);
    expect(() => selectBackend(undefined, "Native", s)).toThrow(TypeError);
  });
});
