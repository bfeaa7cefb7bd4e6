/**
 * Go's float formatting (`strconv.FormatFloat`), shared by `sprintf` and by the text OPA gives a
 * computed number (arithmetic results are printed with Go's shortest `%g`).
 */

/**
 * Go's `strconv.FormatFloat(|x|, verb, prec, 64)` for the verbs e, f, g (shortest when prec is -1);
 * the sign is the caller's.
 *
 * @example
 * ```ts
 * formatFloat(2e-7, "g", -1); // "2e-07"
 * formatFloat(1234567.5, "g", -1); // "1.2345675e+06"
 * ```
 */
export function formatFloat(x: number, verb: "e" | "f" | "g", prec: number): string {
  if (verb === "f") {
    // toFixed switches to exponent form from 1e21 on; such doubles are integers.
    if (Math.abs(x) >= 1e21)
      return `${BigInt(Math.abs(x))}${prec > 0 ? `.${"0".repeat(Math.min(prec, 100))}` : ""}`;
    if (prec < 0) {
      const s = Math.abs(x).toString();
      return s.includes("e")
        ? Math.abs(x)
            .toFixed(20)
            .replace(/\.?0+$/, "")
        : s;
    }
    return prec <= 100 ? Math.abs(x).toFixed(prec) : Math.abs(x).toFixed(100);
  }
  let mant: string;
  let exp: number;
  if (x === 0) {
    mant = prec < 0 ? "0" : "0".repeat(Math.max(prec, 1));
    exp = 0;
  } else {
    const e =
      prec < 0
        ? Math.abs(x).toExponential()
        : Math.abs(x).toExponential(
            Math.min(Math.max(verb === "g" ? Math.max(prec, 1) - 1 : prec, 0), 100),
          );
    const [m, ex] = e.split("e") as [string, string];
    mant = m.replace(".", "");
    exp = Number(ex);
  }
  const expText = (n: number): string =>
    `e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  if (verb === "e") {
    const digits = prec < 0 ? mant : mant.padEnd(prec + 1, "0");
    return `${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ""}${expText(exp)}`;
  }
  // %g: exponent form when exp < -4 || exp >= eprec (6 for the shortest form, as Go).
  let eprec = prec < 0 ? 6 : prec === 0 ? 1 : prec;
  const digits = prec < 0 ? mant : mant.replace(/0+$/, "") || "0";
  if (prec >= 0 && eprec > digits.length && digits.length >= exp + 1) eprec = digits.length;
  if (exp < -4 || exp >= eprec)
    return `${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ""}${expText(exp)}`;
  if (exp < 0) return `0.${"0".repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const frac = digits.slice(exp + 1);
  return frac === "" ? int : `${int}.${frac}`;
}
