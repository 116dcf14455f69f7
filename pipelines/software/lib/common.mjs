/*
 * What the three demo programs share: the exit-code convention, strict option parsing (every
 * argument is inert data: it is only ever compared with or parsed as a number, never evaluated),
 * the test hooks, progress logging, and collecting output files so they are written at the end,
 * each atomically (a temporary name, then a rename).
 *
 *   exit 0  success
 *   exit 1  bad input data (a raw file or an upstream product that cannot be reduced)
 *   exit 2  bad usage (an unknown option, an invalid value, no readable manifest)
 *   exit 3  CCAT_DEMO_FAIL named this step (a test hook)
 */

import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"

export class UsageError extends Error {}
export class DataError extends Error {}

/** A value as it can appear in a one-line message: quoted, newlines and quotes escaped, shortened. */
export const shown = (value) => {
  const s = JSON.stringify(String(value))
  return s.length > 80 ? `${s.slice(0, 77)}..."` : s
}

const numberPattern = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/** A finite number written plainly (no hex, no "Infinity", no spaces); `what` names it in errors. */
export const parseNumber = (raw, what, { min = -Infinity, max = Infinity, integer = false, exclusiveMin = false } = {}) => {
  if (typeof raw !== "string" || !numberPattern.test(raw)) throw new UsageError(`invalid ${what} value ${shown(raw)}: expected a number`)
  const x = Number(raw)
  if (!Number.isFinite(x)) throw new UsageError(`invalid ${what} value ${shown(raw)}: expected a finite number`)
  if (integer && !Number.isInteger(x)) throw new UsageError(`invalid ${what} value ${shown(raw)}: expected an integer`)
  if (exclusiveMin ? x <= min : x < min)
    throw new UsageError(`invalid ${what} value ${shown(raw)}: must be ${exclusiveMin ? "greater than" : "at least"} ${min}`)
  if (x > max) throw new UsageError(`invalid ${what} value ${shown(raw)}: must be at most ${max}`)
  return x
}

/** One of a fixed set of words. */
export const parseChoice = (raw, what, choices) => {
  if (!choices.includes(raw)) throw new UsageError(`invalid ${what} value ${shown(raw)}: expected ${choices.join(" or ")}`)
  return raw
}

/**
 * `--name value` or `--name=value`, each option exactly once, all required; `--help` prints the
 * usage. `options` maps a flag (without the dashes) to a parser of its raw string value.
 */
export const parseArgs = (argv, options, usage) => {
  const raw = new Map()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "--help" || arg === "-h") return { help: true }
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument ${shown(arg)}`)
    const eq = arg.indexOf("=")
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
    if (!Object.hasOwn(options, name)) throw new UsageError(`unknown option ${shown(eq < 0 ? arg : arg.slice(0, eq))}`)
    if (raw.has(name)) throw new UsageError(`option --${name} given twice`)
    let value
    if (eq >= 0) value = arg.slice(eq + 1)
    else {
      if (i + 1 >= argv.length) throw new UsageError(`option --${name} needs a value`)
      value = argv[++i]
    }
    raw.set(name, value)
  }
  const parsed = {}
  for (const [name, parse] of Object.entries(options)) {
    if (!raw.has(name)) throw new UsageError(`missing option --${name} (usage: ${usage})`)
    parsed[name] = parse(raw.get(name), `--${name}`)
  }
  return { help: false, values: parsed }
}

/** Progress lines go to stdout (the runtime keeps them) and, at the end, to logs/<program>.log. */
export class Log {
  constructor(program) {
    this.program = program
    this.lines = []
  }
  info(line) {
    this.lines.push(line)
    process.stdout.write(`${line}\n`)
  }
  text() {
    return this.lines.map((l) => `${l}\n`).join("")
  }
}

/** Output files, kept in memory until the program has succeeded, then written atomically. */
export class Outputs {
  constructor(root) {
    this.root = root
    this.files = new Map()
  }
  /** `relative` is e.g. "science/x.cal.json"; the folder must be one of the contract's. */
  add(relative, bytes) {
    const folder = relative.split("/")[0]
    if (!["science", "qa", "plots", "statistics", "logs"].includes(folder)) throw new Error(`not an output folder: ${relative}`)
    if (this.files.has(relative)) throw new DataError(`two inputs would both write ${relative}`)
    this.files.set(relative, typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes)
  }
  /** JSON, compact (science products: long arrays) or indented (QA and statistics, read by people). */
  json(relative, value, { pretty = false } = {}) {
    this.add(relative, `${pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`)
  }
  /** The program's own log joins the outputs, then everything is written: the end of every program. */
  finish(program, log) {
    log.info(`${program}: done, ${this.files.size + 1} files`)
    this.add(`logs/${program}.log`, log.text())
    this.commit()
  }
  commit() {
    for (const folder of ["science", "qa", "plots", "statistics", "logs"]) mkdirSync(join(this.root, folder), { recursive: true })
    for (const [relative, bytes] of [...this.files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const full = join(this.root, relative)
      mkdirSync(dirname(full), { recursive: true })
      const temporary = `${full}.tmp-${process.pid}`
      try {
        writeFileSync(temporary, bytes)
        renameSync(temporary, full)
      } catch (e) {
        rmSync(temporary, { force: true })
        throw e
      }
    }
  }
}

/** Rounds for output: fixed precision keeps files small and byte-stable. Non-finite → null. */
export const round = (x, digits) => {
  if (x === null || x === undefined || !Number.isFinite(x)) return null
  const f = 10 ** digits
  const r = Math.round(x * f) / f
  return r === 0 ? 0 : r
}

/** Path-safe file name part: letters, digits, `.`, `_`, `+`, `-`; anything else becomes `_`. */
export const safeName = (s) => {
  const cleaned = String(s)
    .replace(/[^A-Za-z0-9._+-]/g, "_")
    .replace(/^\.+/, "_")
  return cleaned === "" ? "_" : cleaned
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs one program: the test hooks, the options, then `body`. `body({ values, log })` does the
 * work and returns nothing; errors map to the exit codes above.
 */
export const runProgram = async ({ program, step, usage, options, body }) => {
  const log = new Log(program)
  try {
    const sleepRaw = process.env.CCAT_DEMO_SLEEP_SECONDS
    if (sleepRaw !== undefined && sleepRaw !== "") {
      const seconds = parseNumber(sleepRaw, "CCAT_DEMO_SLEEP_SECONDS", { min: 0, max: 86_400 })
      log.info(`${program}: sleeping ${seconds} s (CCAT_DEMO_SLEEP_SECONDS)`)
      await sleep(seconds * 1000)
    }
    if (process.env.CCAT_DEMO_FAIL === step) {
      log.info(`${program}: failing on purpose (CCAT_DEMO_FAIL=${step})`)
      process.stderr.write(`${program}: failing on purpose (CCAT_DEMO_FAIL=${step})\n`)
      process.exitCode = 3
      return
    }
    const args = parseArgs(process.argv.slice(2), options, usage)
    if (args.help) {
      process.stdout.write(`usage: ${usage}\n`)
      process.exitCode = 0
      return
    }
    await body({ values: args.values, log })
    process.exitCode = 0
  } catch (e) {
    const oneLine = (s) => String(s).replace(/\s*\n\s*/g, " ")
    if (e instanceof UsageError) {
      process.stderr.write(`${program}: ${oneLine(e.message)}\n`)
      process.exitCode = 2
    } else if (e instanceof DataError) {
      process.stderr.write(`${program}: bad input data: ${oneLine(e.message)}\n`)
      process.exitCode = 1
    } else {
      process.stderr.write(`${program}: internal error: ${oneLine(e instanceof Error ? e.message : e)}\n`)
      if (process.env.CCAT_DEMO_DEBUG) process.stderr.write(`${e instanceof Error ? e.stack : ""}\n`)
      process.exitCode = 1
    }
  }
}
