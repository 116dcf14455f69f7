import { Data } from "effect"
import type { IrJson } from "../../compiler/ir.ts"

/*
 * A step's command template (`chai-calibrate --mode {config.calibration_mode}`) as an argv
 * array. The template is split into words first (whitespace separates words; '...' or "..."
 * group a word with spaces), and only then are `{version}` and `{config.a.b}` filled in, each
 * inside its own word: a value with spaces, quotes, `$(...)` or newlines stays one inert
 * argument. No shell ever sees the result. `{{` and `}}` are literal braces.
 *
 * A config value becomes: a string as is, a number or boolean as written in JSON, a list or map
 * as compact JSON. A NUL character cannot be passed to a program and is refused.
 */

export class CommandLineError extends Data.TaggedError("CommandLineError")<{ readonly reason: string }> {
  override get message(): string {
    return `cannot build the command line: ${this.reason}`
  }
}

const splitWords = (template: string): Array<string> => {
  const words: Array<string> = []
  let current: string | null = null
  let quote: '"' | "'" | null = null
  for (const char of template) {
    if (quote !== null) {
      if (char === quote) quote = null
      else current += char
      continue
    }
    if (char === '"' || char === "'") {
      quote = char
      current ??= ""
    } else if (/\s/.test(char)) {
      if (current !== null) words.push(current)
      current = null
    } else current = (current ?? "") + char
  }
  if (quote !== null) throw new CommandLineError({ reason: `unclosed ${quote} in the command \`${template}\`` })
  if (current !== null) words.push(current)
  return words
}

const valueText = (value: IrJson): string => (typeof value === "string" ? value : JSON.stringify(value))

const lookup = (config: Readonly<Record<string, IrJson>>, path: ReadonlyArray<string>): IrJson | undefined => {
  let node: IrJson | undefined = config
  for (const key of path) {
    if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined
    node = (node as Record<string, IrJson>)[key]
  }
  return node
}

const fill = (word: string, version: string, config: Readonly<Record<string, IrJson>>): string =>
  word.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, inner: string | undefined) => {
    if (match === "{{") return "{"
    if (match === "}}") return "}"
    const name = (inner ?? "").trim()
    if (name === "version") return version
    if (name.startsWith("config.")) {
      const value = lookup(config, name.slice("config.".length).split("."))
      if (value === undefined) throw new CommandLineError({ reason: `the config has no \`${name.slice(7)}\` for \`{${name}}\`` })
      return valueText(value)
    }
    throw new CommandLineError({ reason: `unknown placeholder \`{${name}}\`` })
  })

/** The argv of a run; throws CommandLineError (callers turn it into a failed run). */
export const commandLine = (template: string, version: string, config: Readonly<Record<string, IrJson>>): ReadonlyArray<string> => {
  const argv = splitWords(template).map((w) => fill(w, version, config))
  if (argv.length === 0) throw new CommandLineError({ reason: "the command is empty" })
  for (const arg of argv) if (arg.includes("\u0000")) throw new CommandLineError({ reason: "a value contains a NUL character" })
  return argv
}
