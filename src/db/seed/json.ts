/** JSON values as stored in the `metadata` columns and written to the demo files. */
export type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [key: string]: Json }
export type JsonObject = { readonly [key: string]: Json }

/** Rounds for storage: metadata reads better, and files are smaller, without false precision. */
export const round = (x: number, digits: number): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** Compact, stable JSON bytes for a demo file (key order is the literal order, always the same). */
export const jsonBytes = (value: Json): Uint8Array => Buffer.from(JSON.stringify(value) + "\n", "utf8")
