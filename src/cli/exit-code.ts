import { Data } from "effect"

/** Exit codes shared by every command. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const

/** Ends a command with a non-zero exit code after it has printed what went wrong. */
export class CommandExit extends Data.TaggedError("CommandExit")<{ readonly code: number }> {}
