// Licence tokens: issue/verify with jose (EdDSA), the typed errors, and openFile({ licence })
// passing the verified claims to the local policy.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeys } from "../../src/keys/generate.js";
import { headerDigest, issueLicence, verifyLicence } from "../../src/licence/licence-token.js";
import { openFile } from "../../src/reader/open-file.js";
import { saveFile } from "../../src/writer/save-file.js";
import { randomTensor, tempDir } from "../integration/helpers.js";
import { expectCode } from "../support/expect-code.js";
import { readFileSync } from "node:fs";

const dir = tempDir("ct-licence-");
const {
  keys: [, issuerKey],
} = generateKeys({ signKid: "licences-1" });
const {
  keys: [, otherIssuer],
} = generateKeys({ signKid: "licences-1" });
const issuerPublic = { keys: [{ ...issuerKey, d: undefined }] };
const expires = new Date(Date.now() + 3_600_000);

const tierPolicy = `package model
import rego.v1
default allow := false
allow if input.claims.tier == "pro"
allow if {
  input.claims.tier == "free"
  every t in input.tensors { startswith(t, "embed.") }
}`;

async function model(name: string) {
  const keys = generateKeys({ encKid: `enc-${name}`, signKid: "sign-1" });
  const path = join(dir, `${name}.ct`);
  await saveFile(
    path,
    { "embed.weight": randomTensor(64, "F32"), "head.weight": randomTensor(64, "F32") },
    {
      encryption: { encKey: keys.keys[0], signKey: keys.keys[1], policy: { local: tierPolicy } },
    },
  );
  return { path, keys };
}

describe("licence tokens", () => {
  it("issues and verifies an EdDSA JWT with the claims, subject, id and expiry", async () => {
    const token = await issueLicence({
      signingKey: issuerKey,
      subject: "ACME",
      claims: { tier: "pro" },
      expires,
      model: "enc-a",
    });
    expect(token.split(".")).toHaveLength(3);
    const header = JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString());
    expect(header).toEqual({ alg: "EdDSA", typ: "JWT", kid: "licences-1" });
    const verified = await verifyLicence(token, { issuers: issuerPublic, model: { kid: "enc-a" } });
    expect(verified.subject).toBe("ACME");
    expect(verified.claims.tier).toBe("pro");
    expect(verified.expiresAt.getTime()).toBe(Math.floor(expires.getTime() / 1000) * 1000);
    expect(verified.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses a bad signature, another issuer, expiry, not-before and another model with typed errors", async () => {
    const token = await issueLicence({
      signingKey: issuerKey,
      subject: "ACME",
      expires,
      model: "enc-a",
    });
    const [h, p, s] = token.split(".") as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, "base64url").toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, tier: "pro" })).toString("base64url")}.${s}`;
    await expectCode(
      verifyLicence(forged, { issuers: issuerPublic, model: { kid: "enc-a" } }),
      "ERR_LICENCE_INVALID",
    );
    const foreign = await issueLicence({ signingKey: otherIssuer, subject: "ACME", expires });
    await expectCode(verifyLicence(foreign, { issuers: issuerPublic }), "ERR_LICENCE_INVALID");
    await expectCode(verifyLicence("not.a.jwt", { issuers: issuerPublic }), "ERR_LICENCE_INVALID");
    await expectCode(
      verifyLicence(token, {
        issuers: issuerPublic,
        model: { kid: "enc-a" },
        now: new Date(expires.getTime() + 2000),
      }),
      "ERR_LICENCE_EXPIRED",
    );
    const later = await issueLicence({
      signingKey: issuerKey,
      subject: "ACME",
      expires,
      notBefore: new Date(Date.now() + 600_000),
    });
    await expectCode(verifyLicence(later, { issuers: issuerPublic }), "ERR_LICENCE_NOT_YET_VALID");
    await expectCode(
      verifyLicence(token, { issuers: issuerPublic, model: { kid: "enc-b" } }),
      "ERR_LICENCE_AUDIENCE",
    );
    await expectCode(verifyLicence(token, { issuers: issuerPublic }), "ERR_LICENCE_AUDIENCE");
    // An unsigned ("alg": "none") token is refused before any key is tried.
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${p}.`;
    await expectCode(verifyLicence(none, { issuers: issuerPublic }), "ERR_LICENCE_INVALID");
  });

  it("refuses misuse: registered claims in claims, a past expiry, no issuers", async () => {
    await expect(
      issueLicence({ signingKey: issuerKey, subject: "A", expires, claims: { exp: 1 } }),
    ).rejects.toThrow(TypeError);
    await expect(
      issueLicence({ signingKey: issuerKey, subject: "A", expires: new Date(Date.now() - 1000) }),
    ).rejects.toThrow(RangeError);
    await expect(issueLicence({ signingKey: issuerPublic, subject: "A", expires })).rejects.toThrow(
      /private/,
    );
  });

  it("openFile({ licence }) hands the verified claims to the local policy; audience by kid or digest", async () => {
    const { path, keys } = await model("a");
    const free = await issueLicence({
      signingKey: issuerKey,
      subject: "S",
      claims: { tier: "free" },
      expires,
      model: "enc-a",
    });
    const pro = await issueLicence({
      signingKey: issuerKey,
      subject: "S",
      claims: { tier: "pro" },
      expires,
      model: "enc-a",
    });
    const opts = { keys, licenceIssuers: issuerPublic };
    const all = await openFile(path, { ...opts, licence: pro });
    await all.close();
    await expectCode(openFile(path, { ...opts, licence: free }), "ERR_POLICY_DENIED");
    const embed = await openFile(path, { ...opts, licence: free, tensors: ["embed.weight"] });
    expect((await embed.getTensor("embed.weight")).data.length).toBe(64);
    await embed.close();
    // Audience by header digest.
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    const digest = headerDigest(bytes.subarray(8, 8 + n));
    const byDigest = await issueLicence({
      signingKey: issuerKey,
      subject: "S",
      claims: { tier: "pro" },
      expires,
      model: digest,
    });
    await (await openFile(path, { ...opts, licence: byDigest })).close();
    const other = await model("b");
    await expectCode(
      openFile(other.path, { keys: other.keys, licenceIssuers: issuerPublic, licence: pro }),
      "ERR_LICENCE_AUDIENCE",
    );
    await expect(openFile(path, { keys, licence: pro })).rejects.toThrow(/licenceIssuers/);
    await expect(
      openFile(path, { ...opts, licence: pro, claims: { tier: "pro" } }),
    ).rejects.toThrow(TypeError);
  });
});
