import { Args, Options } from "@effect/cli"
import { Effect } from "effect"
import { didYouMean } from "../compiler/suggest.ts"
import type { RunStatus } from "../runtime/execution/run-status.ts"
import type { UnknownName } from "../runtime/ops/errors.ts"
import type { CommandExit } from "./exit-code.ts"
import { usageError } from "./command-failure.ts"

/*
 * The arguments the commands that name runs share: a run id, a status, a time, an unknown
 * pipeline or step said with the names that exist, and `--json`.
 */

export const runIdOf = (text: string): number => {
  const m = /^(?:run-)?(\d{1,15})$/.exec(text.trim())
  return m === null ? 0 : Number(m[1])
}

/** A run id argument: a positive whole number (`12`, also `run-12` as run folders name it). */
export const parseRunId = (text: string, usage: string): Effect.Effect<number, CommandExit> => {
  const id = runIdOf(text)
  return id > 0
    ? Effect.succeed(id)
    : usageError(`expected a run id (a positive whole number, as \`ccat runs\` lists them), got \`${text}\``, usage)
}

/**
 * `2026-05-01`, `2026-05-01T12:00`, `2026-05-01T12:00:30.5Z`, `2026-05-01 12:00+02:00`: a time
 * without an offset is UTC, as ccat prints every time; null when the text is none of these (or
 * names a day that does not exist).
 */
export const parseInstant = (text: string): Date | null => {
  const m = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?)(Z|[+-]\d\d:?\d\d)?)?$/i.exec(text.trim())
  if (m === null) return null
  const [, day, time, offset] = m
  if (new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) return null
  const at = new Date(`${day}T${time ?? "00:00"}${offset ?? "Z"}`)
  return Number.isNaN(at.getTime()) ? null : at
}

export const runIdArg = Args.text({ name: "run" }).pipe(Args.withDescription("The run's id, as `ccat runs` lists it."))

export const jsonOption = (what: string) =>
  Options.boolean("json").pipe(Options.withDescription(`Print ${what} as a JSON document instead of text.`))

/** A status named in any case, or a usage error listing the ones `allowed` (`refusal` says it for a command that takes only some). */
export const parseStatus = (text: string, allowed: ReadonlyArray<RunStatus>, usage: string, refusal?: string) => {
  const upper = text.trim().toUpperCase()
  const match = allowed.find((s) => s === upper)
  if (match !== undefined) return Effect.succeed(match)
  return usageError(refusal ?? `unknown status \`${text}\`; valid: ${allowed.join(", ")}`, usage)
}

export const unknownName = (e: UnknownName): string => {
  const hint = didYouMean(e.name, e.known)
  const known = e.known.length === 0 ? "there are none: run `ccat apply <dir>` first" : `known: ${e.known.join(", ")}`
  return `no ${e.kind} \`${e.name}\`${hint === undefined ? "" : `; ${hint}`} (${known})`
}
