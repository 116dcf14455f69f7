import { createHash } from "node:crypto"

/*
 * Deterministic ids: every demo row's UUID is a version-5 UUID of a readable name (such as
 * `scan/2026-06-10/007`) in the demo's own namespace, so two seeds of empty databases agree
 * on every key and a test can name a row without looking it up.
 */

/** The demo dataset's namespace. Fixed forever: changing it changes every demo id. */
const demoNamespace = "5b0a6e2c-7d1f-4c3e-9a8b-0f2d4c6e8a1b"

const namespaceBytes = Buffer.from(demoNamespace.replace(/-/g, ""), "hex")

/** RFC 4122 version-5 UUID of `name` in the demo namespace. */
export const demoId = (name: string): string => {
  const hash = createHash("sha1").update(namespaceBytes).update(name, "utf8").digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export const sha256Hex = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex")

/**
 * A package's checksum: SHA-256 over its files' SHA-256 hex digests, concatenated in file-name
 * order. It changes when any file changes, and can be checked without reading the files again.
 */
export const packageChecksum = (files: ReadonlyArray<{ readonly name: string; readonly checksum: string }>): string =>
  sha256Hex(
    [...files]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((f) => f.checksum)
      .join("")
  )
