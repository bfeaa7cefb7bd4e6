// The CLI's progress line: percent, MB, rate, ETA while running, one summary line at the end.
import { describe, expect, it } from "vitest";
import {
  finalLine,
  formatDuration,
  progressLine,
  progressReporter,
} from "../../../src/cli/progress.js";
import { closest } from "../../../src/cli/args.js";

describe("progress", () => {
  it("formats durations as m:ss and h:mm:ss", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(93)).toBe("1:33");
    expect(formatDuration(3723)).toBe("1:02:03");
  });

  it("shows percent, MB done/total, rate and the ETA at that rate", () => {
    const line = progressLine("decrypting", { tensor: "w", bytesDone: 50e6, bytesTotal: 200e6 }, 2);
    expect(line).toBe("decrypting 25.0% 50.0/200.0 MB, 25 MB/s, ETA 0:06");
  });

  it("draws the live line at most every 100 ms and one final line at 100 %", () => {
    const out: string[] = [];
    let clock = 1000;
    const report = progressReporter(
      "encrypting",
      "encrypted",
      true,
      (t) => out.push(t),
      () => clock,
    )!;
    report({ tensor: "a", bytesDone: 10e6, bytesTotal: 40e6 });
    clock += 50;
    report({ tensor: "a", bytesDone: 20e6, bytesTotal: 40e6 }); // throttled
    clock += 950;
    report({ tensor: "b", bytesDone: 40e6, bytesTotal: 40e6 });
    report({ tensor: "b", bytesDone: 40e6, bytesTotal: 40e6 }); // already finished
    expect(out).toHaveLength(2);
    expect(out[0]?.startsWith("\r\x1b[2Kencrypting 25.0% 10.0/40.0 MB")).toBe(true);
    expect(out[1]).toBe(`\r\x1b[2K${finalLine("encrypted", 40e6, 1)}\n`);
    expect(out[1]).toMatch(/encrypted: 40\.0 MB in 1\.0 s \(40 MB\/s\)/);
  });

  it("is off when stderr is not a terminal", () => {
    expect(progressReporter("x", "x", false)).toBeUndefined();
  });
});

describe("did-you-mean", () => {
  it("suggests the closest name only for plausible typos", () => {
    expect(closest("kyes", ["keys", "json", "quiet"])).toBe("keys");
    expect(closest("decrpyt", ["decrypt", "encrypt", "verify"])).toBe("decrypt");
    expect(closest("verfy", ["decrypt", "verify"])).toBe("verify");
    expect(closest("zzzzzz", ["keys", "json"])).toBeUndefined();
  });
});
