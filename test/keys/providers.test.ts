// The key providers and their registry (FORMAT.md §5.2): each provider, priority order, kid/jku
// matching, missing keys (the error names the kid and every place looked), provider failures,
// and the hardened file:// provider (roots, symlinks, FIFOs, devices, size cap).
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  DirectKeyProvider,
  EnvKeyProvider,
  FileKeyProvider,
  KeyProviderRegistry,
  type MasterKey,
  SigningKey,
  jkuPath,
  parseJwk,
  type KeyProvider,
} from "../../src/index.js";
import { tempDir } from "../integration/helpers.js";
import { keySet, publicOf, rejectsWith } from "./helpers.js";

const dir = tempDir("ct-providers-");
const a = keySet("a");
const b = keySet("b");

function staticProvider(
  name: string,
  priority: number,
  jwk: Record<string, string> | undefined,
  extra: Partial<KeyProvider> = {},
): KeyProvider & { calls: number } {
  const provider = {
    name,
    priority,
    calls: 0,
    async getMasterKey() {
      provider.calls++;
      return jwk;
    },
    ...extra,
  };
  return provider;
}

describe("built-in providers", () => {
  it("DirectKeyProvider: exact kid, else the first key of the kind; signing keys need d", async () => {
    const direct = new DirectKeyProvider({ keys: [...a.keys, ...b.keys] });
    expect((await direct.getMasterKey({ kid: "enc-b" }))?.kid).toBe("enc-b");
    expect((await direct.getMasterKey({}))?.kid).toBe("enc-a");
    expect(await direct.getMasterKey({ kid: "enc-z" })).toBeUndefined();
    expect((await direct.getVerifyKey({ kid: "sign-b" }))?.kid).toBe("sign-b");
    const publicOnly = new DirectKeyProvider([publicOf(a)]);
    expect(await publicOnly.getVerifyKey({ kid: "sign-a" })).toBeInstanceOf(SigningKey);
    expect(await publicOnly.getSigningKey({ kid: "sign-a" })).toBeUndefined();
    expect(new DirectKeyProvider([]).isReady()).toBe(false);
    const shown = inspect(direct, { depth: Infinity, showHidden: true });
    for (const secret of [a.keys[0]["k"], a.keys[1]["d"], b.keys[0]["k"]])
      expect(shown).not.toContain(secret);
  });

  it("EnvKeyProvider: ready only when the variable is set; a JWK set or one JWK; kid exact", async () => {
    expect(new EnvKeyProvider({}).isReady()).toBe(false);
    const env = new EnvKeyProvider({
      CRYPTOTENSOR_KEYS: JSON.stringify({ keys: [...a.keys, ...b.keys] }),
    });
    expect(env.isReady()).toBe(true);
    expect((await env.getMasterKey({ kid: "enc-b" }))?.["kid"]).toBe("enc-b");
    expect((await env.getVerifyKey({}))?.["kid"]).toBe("sign-a");
    expect(await env.getVerifyKey({ kid: "nope" })).toBeUndefined();
    // The provider holds the variable's text, which holds secrets: inspect must not show it.
    expect(inspect(env)).not.toContain(a.keys[0]["k"]);
    expect(
      inspect(new KeyProviderRegistry([env]), { depth: Infinity, showHidden: true }),
    ).not.toContain(a.keys[0]["k"]);
    const single = new EnvKeyProvider({ CRYPTOTENSOR_KEYS: JSON.stringify(b.keys[0]) });
    expect((await single.getMasterKey({}))?.["kid"]).toBe("enc-b");
    expect(await single.getVerifyKey({})).toBeUndefined();
  });

  it("jkuPath: file:///abs and file://~/p; scheme case-insensitive; nothing else", () => {
    expect(jkuPath("file:///etc/keys.jwks", "/home/u")).toBe("/etc/keys.jwks");
    expect(jkuPath("FILE:///etc/keys.jwks", "/home/u")).toBe("/etc/keys.jwks");
    expect(jkuPath("file://~/k/keys.jwks", "/home/u")).toBe("/home/u/k/keys.jwks");
    expect(jkuPath("file://keys.jwks", "/home/u")).toBeNull();
    expect(jkuPath("https://example.com/keys.jwks", "/home/u")).toBeNull();
    expect(jkuPath("file:///etc/k\0x", "/home/u")).toBeNull();
  });

  describe("FileKeyProvider", () => {
    const root = join(dir, "trusted");
    const outside = join(dir, "outside");
    mkdirSync(root, { recursive: true });
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(root, "keys.jwks"), JSON.stringify({ keys: [...a.keys, ...b.keys] }));
    writeFileSync(join(outside, "keys.jwks"), JSON.stringify(a));
    const url = (path: string) => `file://${path}`;

    it("matches only jku starting with file:// (case-sensitive, as the reference)", () => {
      const file = new FileKeyProvider({ roots: [root] });
      expect(file.matches({ jku: url(join(root, "keys.jwks")) })).toBe(true);
      expect(file.matches({ jku: "FILE:///x" })).toBe(false);
      expect(file.matches({ kid: "enc-a" })).toBe(false);
    });

    it("reads key files inside its roots, by kind and kid; ~/ is the home directory", async () => {
      const file = new FileKeyProvider({ roots: [root], home: dir });
      expect(
        (await file.getMasterKey({ jku: url(join(root, "keys.jwks")), kid: "enc-b" }))?.["kid"],
      ).toBe("enc-b");
      expect((await file.getVerifyKey({ jku: url(join(root, "keys.jwks")) }))?.["kid"]).toBe(
        "sign-a",
      );
      expect(
        (await file.getVerifyKey({ jku: "file://~/trusted/keys.jwks", kid: "sign-b" }))?.["kid"],
      ).toBe("sign-b");
      expect(
        await file.getMasterKey({ jku: url(join(root, "keys.jwks")), kid: "other" }),
      ).toBeUndefined();
    });

    it("follows nothing without roots, and nothing outside them (symlinks resolved first)", async () => {
      const none = new FileKeyProvider();
      const e1 = await rejectsWith(
        none.getMasterKey({ jku: url(join(root, "keys.jwks")) }),
        "ERR_KEY_UNTRUSTED",
      );
      expect(e1.message).toMatch(/no jku roots are configured/);
      const file = new FileKeyProvider({ roots: [root] });
      await rejectsWith(
        file.getMasterKey({ jku: url(join(outside, "keys.jwks")) }),
        "ERR_KEY_UNTRUSTED",
      );
      await rejectsWith(
        file.getMasterKey({ jku: url(`${root}/../outside/keys.jwks`) }),
        "ERR_KEY_UNTRUSTED",
      );
      symlinkSync(join(outside, "keys.jwks"), join(root, "escape.jwks"));
      await rejectsWith(
        file.getMasterKey({ jku: url(join(root, "escape.jwks")) }),
        "ERR_KEY_UNTRUSTED",
      );
      await rejectsWith(
        file.getMasterKey({ jku: "file://relative/keys.jwks" }),
        "ERR_KEY_UNTRUSTED",
      );
      await rejectsWith(
        file.getMasterKey({ jku: url(join(root, "missing.jwks")) }),
        "ERR_KEY_NOT_FOUND",
      );
    });

    it("refuses FIFOs, devices and directories without blocking, and files over the size cap", async () => {
      const fifo = join(root, "keys.fifo");
      execFileSync("mkfifo", [fifo]);
      const file = new FileKeyProvider({ roots: [root, "/dev"], maxBytes: 1024 });
      await rejectsWith(file.getMasterKey({ jku: url(fifo) }), "ERR_KEY_INVALID");
      await rejectsWith(file.getMasterKey({ jku: "file:///dev/zero" }), "ERR_KEY_INVALID");
      await rejectsWith(file.getMasterKey({ jku: url(root) }), "ERR_KEY_UNTRUSTED"); // the root itself is not inside it
      mkdirSync(join(root, "sub"));
      await rejectsWith(file.getMasterKey({ jku: url(join(root, "sub")) }), "ERR_KEY_INVALID");
      writeFileSync(join(root, "big.jwks"), " ".repeat(2048) + JSON.stringify(a));
      const error = await rejectsWith(
        file.getMasterKey({ jku: url(join(root, "big.jwks")) }),
        "ERR_KEY_INVALID",
      );
      expect(error.message).toMatch(/1024-byte cap/);
      writeFileSync(join(root, "bad.jwks"), `{"keys":[{"kty":"oct","k":"${a.keys[0]["k"]}"`);
      const bad = await rejectsWith(
        file.getMasterKey({ jku: url(join(root, "bad.jwks")) }),
        "ERR_KEY_INVALID",
      );
      expect(bad.message).not.toContain(a.keys[0]["k"]);
    });
  });
});

describe("KeyProviderRegistry", () => {
  it("tries providers by priority, high first; ties keep registration order", async () => {
    const low = staticProvider("low", 5, a.keys[0]);
    const high = staticProvider("high", 50, b.keys[0]);
    const tie = staticProvider("tie", 50, a.keys[0]);
    const registry = new KeyProviderRegistry([low, high, tie]);
    expect(registry.list().map((p) => p.name)).toEqual(["high", "tie", "low"]);
    const found = await registry.lookup("master", { kid: "enc-b" });
    expect(found.provider).toBe("high");
    expect(found.key.kid).toBe("enc-b");
    expect(tie.calls + low.calls).toBe(0);
    // A direct provider passed per call (priority 100) comes first.
    const direct = await registry.lookup("master", {}, [new DirectKeyProvider(a, "options.keys")]);
    expect(direct.provider).toBe("options.keys");
  });

  it("skips providers that are disabled, not ready, do not match, have nothing or fail; reports each", async () => {
    const registry = new KeyProviderRegistry([
      staticProvider("off", 90, b.keys[0]),
      staticProvider("sleepy", 80, b.keys[0], { isReady: () => false }),
      staticProvider("picky", 70, b.keys[0], { matches: ({ kid }) => kid === "other" }),
      staticProvider("empty", 60, undefined),
      {
        name: "broken",
        priority: 50,
        async getMasterKey() {
          throw new Error("connection refused to kms.example");
        },
      },
      staticProvider("throws-in-matches", 40, b.keys[0], {
        matches: () => {
          throw new RangeError("bad config");
        },
      }),
      staticProvider("last", 1, a.keys[0]),
    ]);
    expect(registry.disable("off")).toBe(true);
    const found = await registry.lookup("master", { kid: "enc-a" });
    expect(found.provider).toBe("last");
    registry.unregister("last");
    const error = await rejectsWith(
      registry.lookup("master", { kid: "enc-a", jku: "https://kms.example/k" }),
      "ERR_KEY_NOT_FOUND",
    );
    expect(error.message).toContain('kid "enc-a"');
    expect(error.message).toContain('jku "https://kms.example/k"');
    for (const note of [
      "sleepy: not ready",
      "picky: does not serve",
      "empty: no such key",
      "broken: failed (Error)",
      "throws-in-matches: failed (RangeError)",
    ])
      expect(error.message).toContain(note);
    expect(error.message).not.toContain("off");
    expect(registry.enable("off")).toBe(true);
    expect((await registry.lookup("master", { kid: "enc-b" })).provider).toBe("off");
    expect(registry.enable("nobody")).toBe(false);
  });

  it("registering a provider of the same name replaces it", async () => {
    const registry = new KeyProviderRegistry([staticProvider("kms", 10, a.keys[0])]);
    registry.register(staticProvider("kms", 10, b.keys[0]));
    expect(registry.list()).toHaveLength(1);
    expect((await registry.lookup("master", {})).key.kid).toBe("enc-b");
  });

  it("a malformed key or a key of the wrong kind from a provider is an error, not a skip", async () => {
    const bad = new KeyProviderRegistry([
      staticProvider("bad", 10, { kty: "oct", alg: "aes256gcm", k: "short" }),
      staticProvider("good", 1, a.keys[0]),
    ]);
    const error = await rejectsWith(bad.lookup("master", {}), "ERR_KEY_INVALID");
    expect(error.message).toMatch(/key provider "bad"/);
    const wrong = new KeyProviderRegistry([staticProvider("wrong", 10, a.keys[1])]);
    await rejectsWith(wrong.lookup("master", {}), "ERR_KEY_INVALID");
    const env = new KeyProviderRegistry([
      new EnvKeyProvider({ CRYPTOTENSOR_KEYS: "/etc/keys.json" }),
    ]);
    await rejectsWith(env.lookup("verify", {}), "ERR_KEY_INVALID");
  });

  it("signing lookups are answered only by providers that serve private keys (not env or file)", async () => {
    const registry = new KeyProviderRegistry([
      new EnvKeyProvider({ CRYPTOTENSOR_KEYS: JSON.stringify(a) }),
    ]);
    await rejectsWith(registry.lookup("sign", { kid: "sign-a" }), "ERR_KEY_NOT_FOUND");
    const found = await registry.lookup("sign", { kid: "sign-a" }, [new DirectKeyProvider(a)]);
    expect(found.key.canSign).toBe(true);
    await rejectsWith(
      registry.lookup("sign", { kid: "sign-a" }, [new DirectKeyProvider([publicOf(a)])]),
      "ERR_KEY_NOT_FOUND",
    );
  });

  it("keys parsed for a lookup are wiped on release; keys a provider holds are not", async () => {
    const parsed = await new KeyProviderRegistry([staticProvider("jwk", 1, a.keys[0])]).lookup(
      "master",
      {},
    );
    parsed.release();
    expect(() => parsed.key.key).toThrow(TypeError);
    const held = parseJwk(a.keys[0]) as MasterKey;
    const keep = await new KeyProviderRegistry([
      { name: "held", priority: 1, getMasterKey: async () => held },
    ]).lookup("master", {});
    keep.release();
    expect(held.key.length).toBe(32);
    expect(inspect(keep)).not.toContain(a.keys[0]["k"]);
  });

  it("refuses providers that are not providers", () => {
    const registry = new KeyProviderRegistry();
    expect(() =>
      registry.register({ name: "", priority: 1, getMasterKey: async () => undefined }),
    ).toThrow(TypeError);
    expect(() =>
      registry.register({ name: "x", priority: Number.NaN, getMasterKey: async () => undefined }),
    ).toThrow(TypeError);
    expect(() => registry.register({ name: "x", priority: 1 })).toThrow(TypeError);
  });
});
