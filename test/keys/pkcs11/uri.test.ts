// PKCS#11 URIs (RFC 7512) as the provider reads them: path and query attributes, percent
// decoding, PIN sources, and refusals of what could silently select another token.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePkcs11Uri } from "../../../src/index.js";
import { describePkcs11Uri, modulePathOf, pinOf } from "../../../src/keys/pkcs11/uri.js";
import { tempDir } from "../../integration/helpers.js";

const dir = tempDir("ct-p11uri-");

describe("parsePkcs11Uri", () => {
  it("reads the RFC 7512 examples' attributes, percent-decoded", () => {
    const uri = parsePkcs11Uri(
      "pkcs11:token=My%20token%25;manufacturer=SoftHSM%20project;serial=abc;slot-id=3;object=enc%3B1;id=%01%02;type=secret-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=12%2634",
    );
    expect(uri).toMatchObject({
      token: "My token%",
      manufacturer: "SoftHSM project",
      serial: "abc",
      slotId: 3,
      object: "enc;1",
      type: "secret-key",
      modulePath: "/usr/lib/softhsm/libsofthsm2.so",
      pinValue: "12&34",
    });
    expect(uri.id).toEqual(Buffer.from([1, 2]));
    expect(describePkcs11Uri(uri)).not.toContain("12");
    expect(describePkcs11Uri(uri)).toContain("token=My%20token%25");
  });

  it("refuses unknown or repeated attributes, bad values and two PIN sources", () => {
    for (const bad of [
      "pkcs12:token=a",
      "pkcs11:token=a;tokne=b",
      "pkcs11:token=a;token=b",
      "pkcs11:slot-id=x",
      "pkcs11:type=cert",
      "pkcs11:token=%zz",
      "pkcs11:token",
      "pkcs11:token=a?pin-value=1&pin-source=/p",
      "pkcs11:token=a?max-sessions=1",
    ])
      expect(() => parsePkcs11Uri(bad), bad).toThrow(TypeError);
  });

  it("finds the module and the PIN", () => {
    expect(() => modulePathOf(parsePkcs11Uri("pkcs11:token=a"))).toThrow(/module-path/);
    expect(modulePathOf(parsePkcs11Uri("pkcs11:token=a?module-name=softhsm2"))).toMatch(
      /\/softhsm2\.so$/,
    );
    expect(() => modulePathOf(parsePkcs11Uri("pkcs11:token=a?module-name=../x"))).toThrow(
      TypeError,
    );
    const pinFile = join(dir, "pin");
    writeFileSync(pinFile, "s3cret\nignored\n");
    expect(pinOf(parsePkcs11Uri(`pkcs11:token=a?pin-source=${pinFile}`))).toBe("s3cret");
    expect(pinOf(parsePkcs11Uri(`pkcs11:token=a?pin-source=file://${pinFile}`))).toBe("s3cret");
    expect(pinOf(parsePkcs11Uri("pkcs11:token=a"))).toBeUndefined();
    expect(() => pinOf(parsePkcs11Uri(`pkcs11:token=a?pin-source=${join(dir, "none")}`))).toThrow(
      expect.objectContaining({ code: "ERR_KEY_PROVIDER" }),
    );
  });
});
