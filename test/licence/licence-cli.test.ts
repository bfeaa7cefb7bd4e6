// `cryptotensors licence issue|public-key` through the built CLI: the token verifies under the
// printed public key with the claims, subject, audience and expiry asked for.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyLicence } from "../../src/licence/licence-token.js";
import { runCli } from "../cli/run-cli.js";
import { tempDir } from "../integration/helpers.js";
import { expectCode } from "../support/expect-code.js";

const dir = tempDir("ct-licence-cli-");

describe("cryptotensors licence", () => {
  it("issues a token that verifies under the printed public key", async () => {
    const keygen = await runCli(["keygen", "--sign-kid", "lic-1"]);
    expect(keygen.status).toBe(0);
    const keyFile = join(dir, "licence-key.jwks");
    writeFileSync(keyFile, keygen.stdout);
    const pub = await runCli(["licence", "public-key", "--signing-key", keyFile]);
    expect(pub.status, pub.stderr).toBe(0);
    const issuers = JSON.parse(pub.stdout);
    expect(issuers.keys[0].d).toBeUndefined();
    const issued = await runCli([
      "licence",
      "issue",
      "--signing-key",
      keyFile,
      "--subject",
      "ACME",
      "--claims",
      '{"tier":"pro"}',
      "--expires",
      "2099-01-01",
      "--model",
      "enc-1",
    ]);
    expect(issued.status, issued.stderr).toBe(0);
    const token = issued.stdout.trim();
    const verified = await verifyLicence(token, { issuers, model: { kid: "enc-1" } });
    expect(verified.subject).toBe("ACME");
    expect(verified.claims.tier).toBe("pro");
    expect(verified.expiresAt.toISOString()).toBe("2099-01-01T00:00:00.000Z");
    await expectCode(
      verifyLicence(token, { issuers, model: { kid: "enc-2" } }),
      "ERR_LICENCE_AUDIENCE",
    );
  });

  it("usage errors exit 2 with a short message", async () => {
    const keyFile = join(dir, "k.jwks");
    writeFileSync(keyFile, (await runCli(["keygen"])).stdout);
    const cases: Array<[string[], RegExp]> = [
      [["licence"], /subcommand/],
      [["licence", "issue", "--signing-key", keyFile, "--expires", "2099-01-01"], /--subject/],
      [["licence", "issue", "--signing-key", keyFile, "--subject", "A"], /--expires/],
      [
        ["licence", "issue", "--signing-key", keyFile, "--subject", "A", "--expires", "soon"],
        /date/,
      ],
      [
        [
          "licence",
          "issue",
          "--signing-key",
          keyFile,
          "--subject",
          "A",
          "--expires",
          "2099-01-01",
          "--claims",
          "[1]",
        ],
        /JSON object/,
      ],
      [
        ["licence", "issue", "--signing-key", keyFile, "--subject", "A", "--expires", "2000-01-01"],
        /future/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
