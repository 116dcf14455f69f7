/*
 * A minimal PNG writer (8-bit grayscale or RGB, no interlace, filter 0 on every row): signature,
 * IHDR, one IDAT (zlib via node:zlib at a fixed level), IEND, each chunk with its CRC-32.
 * No text or time chunks, so the same pixels give the same bytes.
 */

import { deflateSync } from "node:zlib"

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

const crcTable = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** CRC-32 (ISO 3309, as PNG uses it) of the bytes. */
export const crc32 = (bytes) => {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const chunk = (type, data) => {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, "ascii")
  Buffer.from(data.buffer, data.byteOffset, data.length).copy(out, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

/**
 * Encodes `pixels` (row-major, top row first; 1 byte per pixel for "gray", 3 for "rgb").
 */
export const encodePng = ({ width, height, color, pixels }) => {
  const channels = color === "gray" ? 1 : color === "rgb" ? 3 : 0
  if (channels === 0) throw new Error(`png: unknown color type ${color}`)
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error("png: bad size")
  if (pixels.length !== width * height * channels) throw new Error("png: pixel buffer has the wrong length")
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = channels === 1 ? 0 : 2 // color type: grayscale or truecolor
  ihdr[10] = 0 // deflate
  ihdr[11] = 0 // adaptive filtering, here always filter type 0
  ihdr[12] = 0 // no interlace
  const stride = width * channels
  const raw = Buffer.alloc((stride + 1) * height)
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0
    Buffer.from(pixels.buffer, pixels.byteOffset + y * stride, stride).copy(raw, y * (stride + 1) + 1)
  }
  const idat = deflateSync(raw, { level: 9 })
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", idat), chunk("IEND", Buffer.alloc(0))])
}
