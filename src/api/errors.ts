import type { SqlError } from "@effect/sql"
import { Effect } from "effect"
import { didYouMean } from "../compiler/suggest.ts"
import { BadRequest, Conflict, NotFound, Unavailable } from "./schemas.ts"

/*
 * The runtime's errors as the API's: each keeps the sentence the CLI prints (the same words on
 * both sides) under a stable code. A database error says only that the database did not answer:
 * its text can hold SQL and connection details a client has no business seeing; the server logs it.
 */

const known = (name: string, names: ReadonlyArray<string>): string => {
  const hint = didYouMean(name, names)
  return hint === undefined ? (names.length === 0 ? "" : ` (known: ${names.join(", ")})`) : `; ${hint}`
}

export const notFound = (code: string, message: string) => new NotFound({ code, message })
export const badRequest = (code: string, message: string) => new BadRequest({ code, message })
export const conflict = (code: string, message: string) => new Conflict({ code, message })

/** An unknown pipeline or step by name, with the names that exist. */
export const unknownNameError = (e: {
  readonly _tag: string
  readonly name: string
  readonly known: ReadonlyArray<string>
  readonly kind?: string
  readonly pipeline?: string
}): NotFound => {
  const kind = e.kind ?? (e._tag === "UnknownStep" ? "step" : "pipeline")
  const where = e.pipeline === undefined ? "" : ` in pipeline \`${e.pipeline}\``
  return notFound(kind === "step" ? "UNKNOWN_STEP" : "UNKNOWN_PIPELINE", `no ${kind} \`${e.name}\`${where}${known(e.name, e.known)}`)
}

/** A database that did not answer: logged in full here, said briefly to the client. */
export const databaseUnavailable = (e: SqlError.SqlError) =>
  Effect.logError(`API: the database did not answer: ${e.message}`).pipe(
    Effect.zipRight(
      Effect.fail(new Unavailable({ code: "DATABASE_UNAVAILABLE", message: "the operations database did not answer; try again" }))
    )
  )

/** Errors that only mean "the applied definitions cannot be read". */
export const definitionsUnavailable = (e: { readonly message: string }) =>
  Effect.fail(new Unavailable({ code: "DEFINITIONS_UNREADABLE", message: e.message }))
