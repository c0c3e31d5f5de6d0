// A tiny PNG reader (8-bit RGB/RGBA, non-interlaced: what Chromium's screenshots are) so the e2e run can
// tell a real screenshot from a blank one without a native image library.
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Decodes a PNG into { width, height, channels, pixels } (pixels: unfiltered rows, no filter bytes). */
export function decodePng(buf) {
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG file');
  let at = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat = [];
  while (at < buf.length) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const colorType = data[9];
      const interlace = data[12];
      channels = { 2: 3, 6: 4 }[colorType] ?? 0;
      if (depth !== 8 || !channels || interlace !== 0) {
        throw new Error(`unsupported PNG (depth ${depth}, color type ${colorType}, interlace ${interlace})`);
      }
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : null;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? row[x - channels] : 0;
      const b = prev ? prev[x] : 0;
      const c = prev && x >= channels ? prev[x - channels] : 0;
      let v = src[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`bad PNG filter ${filter} in row ${y}`);
      row[x] = v & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/**
 * Colour statistics of a screenshot: how many distinct colours and what share of the pixels the most common
 * one covers. A blank page (all white, all black, one flat colour) has ~1 colour covering ~100%.
 */
export function screenshotStats(file) {
  const buf = readFileSync(file);
  const { width, height, channels, pixels } = decodePng(buf);
  const counts = new Map();
  for (let i = 0; i < pixels.length; i += channels) {
    const key = (pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2];
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const top = Math.max(...counts.values());
  return { bytes: buf.length, width, height, colors: counts.size, dominantShare: top / (width * height) };
}

/** Throws unless the screenshot shows something: a workbench has dozens of colours and no colour > 97%. */
export function assertNotBlank(file) {
  const s = screenshotStats(file);
  if (s.width < 100 || s.height < 100 || s.colors < 16 || s.dominantShare > 0.97) {
    throw new Error(
      `screenshot ${file} looks blank: ${s.width}x${s.height}, ${s.colors} colours, ` +
        `dominant colour ${(s.dominantShare * 100).toFixed(1)}%`,
    );
  }
  return s;
}
