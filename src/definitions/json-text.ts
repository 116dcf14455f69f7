import type { IrJson } from "../compiler/ir.ts"

/*
 * Typed helpers for writing IR values into text. `Array.isArray` on an `IrJson` narrows to
 * `any[]` (its element type is lost on a `ReadonlyArray`), and `String` on a list or record
 * writes `a,b` or `[object Object]`: these keep the types and say what each kind becomes.
 */

/** `Array.isArray` that keeps the element type: on an `IrJson` it narrows to `ReadonlyArray<IrJson>`. */
export const isJsonArray = (value: IrJson | undefined): value is ReadonlyArray<IrJson> => Array.isArray(value)

/**
 * An IR value in a line of text: a scalar as `String` writes it (`NGC253`, `2`, `true`, `null`,
 * `undefined` for a missing field), a list or record as its JSON.
 */
export const jsonText = (value: IrJson | undefined): string =>
  value === undefined || value === null || typeof value !== "object" ? String(value) : JSON.stringify(value)
