import { Command, Options } from "@effect/cli"
import { Console, Effect, Stream } from "effect"
import { followRunLog } from "../runtime/ops/follow-log.ts"
import { utcSeconds } from "../runtime/ops/format.ts"
import { logPath, readRunLog, type LogStream } from "../runtime/ops/logs.ts"
import type { RunStatus } from "../runtime/execution/run-status.ts"
import { findRun, finishedStatuses, runEvents, runTarget, type RunEvent, type RunSummary } from "../runtime/ops/run-row.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { oneLineErrors } from "./command-failure.ts"
import { parseRunId, runIdArg } from "./run-arguments.ts"

/*
 * `ccat logs <run> [--stderr] [--events] [-f]`: the job's standard output (or error) from the
 * run's log folder, as it is (pipe it anywhere). `--events` first prints the run and its event
 * log (every status change: when, from, to, who, why), then the file under a `==> path <==`
 * header. Exit 0 shown; 1 unknown run, no folder or log file yet, database error; 2 usage.
 *
 * `-f`/`--follow` prints what is there, then whole lines as the job appends them, until the run
 * has ended and its log is read to the end (src/runtime/ops/follow-log.ts); a run not staged yet
 * is waited for. Then `run 12 ended: FAILED` on standard error, and the exit code says how the
 * run ended, as `gh run watch --exit-status` does: 0 COMPLETED, 1 FAILED or CANCELLED (so a
 * script can wait for a run). Ctrl-C stops following (130).
 */

const stderrOption = Options.boolean("stderr").pipe(
  Options.withDescription("Show the job's standard error instead of its standard output.")
)
const eventsOption = Options.boolean("events").pipe(Options.withDescription("Print the run's event log (every status change) first."))
const followOption = Options.boolean("follow").pipe(
  Options.withAlias("f"),
  Options.withDescription(
    "Keep printing what the job appends until the run ends, then say how it ended; exit 0 if it COMPLETED, 1 otherwise. Waits for a run that is not staged yet."
  )
)

const usage = "ccat logs <run> [--stderr] [--events] [-f]"

export const eventLine = (e: RunEvent): string => `  ${utcSeconds(e.at)}  ${e.from ?? "(new)"} -> ${e.to}  ${e.actor}: ${e.reason}`

export const renderEventsHeader = (run: RunSummary, events: ReadonlyArray<RunEvent>): string =>
  [
    `run ${run.id}  ${runTarget(run)}  ${run.status}  attempt ${run.attempt}${run.backendJobId === null ? "" : `  job ${run.backendJobId}`}`,
    `events (${events.length}):`,
    ...events.map(eventLine)
  ].join("\n")

/**
 * Prints the followed log a whole line at a time (a partial line waits for its end, or for the
 * run's), then how the run ended; fails with exit 1 unless it COMPLETED.
 */
const follow = (runId: number, stream: LogStream, events: boolean) =>
  Effect.gen(function* () {
    const followed = yield* followRunLog(runId, stream)
    if (events) {
      const where = followed.run.runDir === null ? "(no folder yet)" : logPath(followed.run.runDir, stream)
      yield* Console.log(`\n==> ${where} <==`)
    }
    if (followed.run.runDir === null && !finishedStatuses.includes(followed.run.status)) {
      yield* Console.error(`run ${runId} is ${followed.run.status} and not staged yet: waiting for its folder (Ctrl-C stops)`)
    }
    let partial = ""
    let outcome: { readonly status: RunStatus; readonly staged: boolean } | undefined
    yield* Stream.runForEach(followed.events, (event) => {
      const text = partial + (event._tag === "Text" ? event.text : "")
      if (event._tag === "Ended") {
        outcome = event
        partial = ""
        return text === "" ? Effect.void : Console.log(text)
      }
      const lastNewline = text.lastIndexOf("\n")
      partial = text.slice(lastNewline + 1)
      return lastNewline < 0 ? Effect.void : Console.log(text.slice(0, lastNewline))
    })
    // The events end with exactly one Ended (follow-log.ts); without it, following was stopped.
    if (outcome === undefined) return
    yield* Console.error(`run ${runId} ended: ${outcome.status}${outcome.staged ? "" : " (it was never staged, so it has no log)"}`)
    if (outcome.status !== "COMPLETED") return yield* new CommandExit({ code: ExitCode.failure })
  })

export const logsCommand = Command.make(
  "logs",
  { run: runIdArg, stderr: stderrOption, events: eventsOption, follow: followOption },
  ({ run, stderr, events, follow: following }) =>
    oneLineErrors(
      Effect.gen(function* () {
        const runId = yield* parseRunId(run, usage)
        if (events) {
          const summary = yield* findRun(runId)
          yield* Console.log(renderEventsHeader(summary, yield* runEvents(runId)))
        }
        if (following) return yield* follow(runId, stderr ? "stderr" : "stdout", events)
        const log = yield* readRunLog(runId, stderr ? "stderr" : "stdout")
        if (events) yield* Console.log(`\n==> ${log.path} <==`)
        // Console.log ends the text with a newline of its own.
        if (log.text !== "") yield* Console.log(log.text.endsWith("\n") ? log.text.slice(0, -1) : log.text)
      })
    )
).pipe(
  Command.withDescription(
    "Print a run's job output (stdout, or stderr with --stderr) from its log folder; --events first prints its status changes; -f follows it until the run ends. Exit 0: printed (with -f: the run COMPLETED); 1: unknown run, or no folder or log yet, or database error (with -f: the run FAILED or was CANCELLED); 2: usage."
  )
)
