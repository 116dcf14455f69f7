import { inspect } from "node:util"

/*
 * What ccat says when it fails in a way it did not expect (a defect: a thrown error, a stack
 * overflow, an Effect `die`): one paragraph naming the command, its input and the error, saying
 * that this is a bug in ccat and what a report needs. The stack trace only on request
 * (CCAT_DEBUG=1): a person running `ccat check` should not have to read one, a maintainer
 * debugging the report wants it.
 */

/** The command words ccat knows, each with its own subcommands (`db` → `migrate`, `status`, …). */
export type CommandTree = ReadonlyMap<string, CommandTree>

/** What was run: `ccat check` and the arguments after the command words. */
export interface Invocation {
  readonly command: string
  readonly input: ReadonlyArray<string>
}

/** Splits the arguments (without node and the script) into the command words and the input. */
export const invocationOf = (args: ReadonlyArray<string>, commands: CommandTree): Invocation => {
  const words = ["ccat"]
  let level = commands
  let i = 0
  for (; i < args.length; i++) {
    const next = level.get(args[i]!)
    if (next === undefined) break
    words.push(args[i]!)
    level = next
  }
  return { command: words.join(" "), input: args.slice(i) }
}

const shownArguments = 8
const shownArgumentLength = 80
const shownMessageLength = 400

const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\" }
// Control and format characters (ANSI escapes, bidi overrides, zero-width), line separators,
// lone surrogates, unassigned and private code points: a path or message is shown, never obeyed
// by the terminal.
const hidden = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Cs}]/u

/** `text` on one line with every invisible or terminal-controlling character escaped, at most `max` characters. */
export const escapeText = (text: string, max: number): string => {
  const chars = [...text]
  const escaped = chars
    .slice(0, max)
    .map((c) => named[c] ?? (hidden.test(c) ? `\\u{${c.codePointAt(0)!.toString(16)}}` : c))
    .join("")
  return chars.length > max ? `${escaped}… (${chars.length} characters)` : escaped
}

/** An argument as a person can read it and copy it: quoted, escaped, shortened. */
export const quoteArgument = (argument: string): string => {
  const chars = [...argument]
  const body = escapeText(chars.slice(0, shownArgumentLength).join(""), shownArgumentLength).replaceAll('"', '\\"')
  return chars.length > shownArgumentLength ? `"${body}…" (${chars.length} characters)` : `"${body}"`
}

const inputText = (input: ReadonlyArray<string>): string => {
  if (input.length === 0) return "with no arguments"
  const shown = input.slice(0, shownArguments).map(quoteArgument).join(" ")
  const more = input.length - shownArguments
  return `with ${shown}${more > 0 ? ` and ${more} more argument${more === 1 ? "" : "s"}` : ""}`
}

/** The error as `RangeError: Maximum call stack size exceeded`, whatever was thrown. */
export const describeError = (error: unknown): string => {
  let text: string
  try {
    if (error instanceof Error) text = error.message === "" ? error.name : `${error.name}: ${error.message}`
    else if (typeof error === "string") text = error
    else text = inspect(error, { depth: 2, breakLength: Number.POSITIVE_INFINITY })
  } catch {
    text = "an error that cannot be shown"
  }
  return escapeText(text, shownMessageLength)
}

/** A multi-line text (a stack trace) with each line escaped as `escapeText` does. */
export const escapeLines = (text: string): string =>
  text
    .split("\n")
    .map((line) => escapeText(line, Number.POSITIVE_INFINITY))
    .join("\n")

/** The stack trace of what was thrown, for CCAT_DEBUG=1. */
export const stackOf = (error: unknown): string => {
  try {
    return escapeLines(error instanceof Error && typeof error.stack === "string" ? error.stack : inspect(error, { depth: 4 }))
  } catch {
    return "(the stack trace cannot be shown)"
  }
}

/** True when CCAT_DEBUG asks for stack traces (`1`, or `true`). */
export const debugRequested = (env: NodeJS.ProcessEnv = process.env): boolean => {
  const value = env["CCAT_DEBUG"]?.trim().toLowerCase()
  return value === "1" || value === "true"
}

export interface CrashReport {
  readonly invocation: Invocation
  readonly version: string
  readonly error: unknown
  /** The stack trace to print after the paragraph (CCAT_DEBUG=1), or nothing. */
  readonly stack: string | undefined
}

/** The paragraph (and, on request, the stack trace after it), ending in a newline. */
export const renderCrashReport = (report: CrashReport): string => {
  const { invocation } = report
  const paragraph =
    `ccat: internal error: \`${invocation.command}\` ${inputText(invocation.input)} stopped on an unexpected ${describeError(report.error)}. ` +
    "This is a bug in ccat, not a problem with your files or setup. " +
    `Please report it to the ccat maintainers with this message, the ccat version (${report.version}) and, if you can share them, the files it read; ` +
    (report.stack === undefined
      ? "run the command again with CCAT_DEBUG=1 to add the stack trace to the report."
      : "the stack trace to include follows.")
  return report.stack === undefined ? `${paragraph}\n` : `${paragraph}\n\n${report.stack}\n`
}
