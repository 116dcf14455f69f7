import { Data } from "effect"

/**
 * Exit codes shared by every command. `internalError` is a bug in ccat (a defect, not a problem
 * with the input): 70, EX_SOFTWARE in sysexits.h, so scripts can tell it from a failed check.
 */
export const ExitCode = { ok: 0, failure: 1, usage: 2, internalError: 70 } as const

/** Ends a command with a non-zero exit code after it has printed what went wrong. */
export class CommandExit extends Data.TaggedError("CommandExit")<{ readonly code: number }> {}

/**
 * The exit code when a command is stopped by SIGINT or SIGTERM: 130 by convention, but a
 * command whose normal end is a signal (`ccat serve`) sets it to 0.
 */
export const interruption = { exitCode: 130 }
