import { Options } from "@effect/cli"
import { SqlError } from "@effect/sql"
import { Clock, Console, Duration, Effect, Option } from "effect"
import { messageWithCause } from "../error-message.ts"
import { utcSeconds } from "../runtime/ops/format.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"

/*
 * `--watch [--interval S]` of `ccat runs` and `ccat status`: the output again every S seconds
 * (2 by default) until Ctrl-C (exit 130, as any command stopped so). On a terminal the screen
 * is redrawn in place, as watch(1) does; otherwise (a file, a pipe) each snapshot follows the
 * last under a header with its time, separated by a blank line, so the file reads as a log.
 *
 * The first snapshot fails as the command would without --watch (a bad filter, no database:
 * exit 1 at once); a later one that finds the database gone shows the error in its place and
 * the watch goes on, so a database restart does not end it.
 */

export const watchOption = Options.boolean("watch").pipe(
  Options.withDescription("Show the output again every 2 seconds (or --interval), redrawn in place on a terminal, until Ctrl-C.")
)
export const intervalOption = Options.float("interval").pipe(
  Options.withDescription("With --watch: seconds between two looks (at least 0.1; default 2)."),
  Options.optional
)

// As runs-command.ts's usageError, which imports this file.
const usageError = (message: string, usage: string) =>
  Console.error(`error: ${message}\nusage: ${usage}`).pipe(Effect.zipRight(new CommandExit({ code: ExitCode.usage })))

export const defaultIntervalSeconds = 2
const minimumIntervalSeconds = 0.1

export interface WatchRequest {
  readonly watch: boolean
  readonly interval: Option.Option<number>
  readonly json: boolean
  /** The command's usage line, for the usage errors. */
  readonly usage: string
}

/** The interval to watch with, None without --watch; a usage error (exit 2) for --json, or an interval without --watch or out of range. */
export const watchInterval = (request: WatchRequest) =>
  Effect.gen(function* () {
    if (!request.watch) {
      if (Option.isSome(request.interval)) return yield* usageError("--interval needs --watch", request.usage)
      return Option.none<number>()
    }
    if (request.json) {
      return yield* usageError(
        "--watch cannot be combined with --json (run it again instead, e.g. in a loop, to get one document per run)",
        request.usage
      )
    }
    const seconds = Option.getOrElse(request.interval, () => defaultIntervalSeconds)
    if (!Number.isFinite(seconds) || seconds < minimumIntervalSeconds) {
      return yield* usageError(`--interval must be at least ${minimumIntervalSeconds} seconds, got ${seconds}`, request.usage)
    }
    return Option.some(seconds)
  })

const clearScreen = "\u001b[H\u001b[2J"
const home = "\u001b[H"
const clearToLineEnd = "\u001b[K"
const clearBelow = "\u001b[J"

export interface WatchOptions {
  /** What is watched, for the header: `ccat status`. */
  readonly title: string
  readonly intervalSeconds: number
  /** Redraw in place (a terminal) or print one snapshot after the other. */
  readonly terminal: boolean
}

/** Whether standard output is a terminal that understands cursor movement. */
export const stdoutIsTerminal = (): boolean => process.stdout.isTTY === true && process.env["TERM"] !== "dumb"

/** Shows `snapshot` every interval until interrupted; never ends by itself. */
export const watchSnapshots = <E, R>(snapshot: Effect.Effect<string, E, R>, options: WatchOptions): Effect.Effect<never, E, R> =>
  Effect.gen(function* () {
    const every = options.intervalSeconds
    const heading = (at: Date) => `Every ${every}s: ${options.title}  ${utcSeconds(at)}  (Ctrl-C stops)`
    const later = Effect.catchIf(
      snapshot,
      (e): e is E & SqlError.SqlError => e instanceof SqlError.SqlError,
      (e) => Effect.succeed(`error: database: ${messageWithCause(e, "query failed")} (still watching)`)
    )
    let first = true
    const show = Effect.gen(function* () {
      const text = yield* first ? snapshot : later
      const at = new Date(yield* Clock.currentTimeMillis)
      const page = `${heading(at)}\n\n${text}`
      if (!options.terminal) yield* Console.log(first ? page : `\n${page}`)
      else {
        // Over the last one, line by line, without clearing the screen first: it does not flicker.
        const lines = page.split("\n").map((line) => line + clearToLineEnd)
        yield* Console.log((first ? clearScreen : home) + lines.join("\n") + clearBelow)
      }
      first = false
    })
    yield* show
    return yield* Effect.forever(Effect.zipRight(Effect.sleep(Duration.seconds(every)), show))
  })
