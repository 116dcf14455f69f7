import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { utcSeconds } from "../runtime/ops/format.ts"
import { readRunLog } from "../runtime/ops/logs.ts"
import { findRun, runEvents, runTarget, type RunEvent, type RunSummary } from "../runtime/ops/run-row.ts"
import { oneLineErrors } from "./plan-command.ts"
import { parseRunId, runIdArg } from "./runs-command.ts"

/*
 * `ccat logs <run> [--stderr] [--events]`: the job's standard output (or error) from the run's
 * log folder, as it is (pipe it anywhere). `--events` first prints the run and its event log
 * (every status change: when, from, to, who, why), then the file under a `==> path <==` header.
 * Exit 0 shown; 1 unknown run, no folder or log file yet, database error; 2 usage.
 */

const stderrOption = Options.boolean("stderr").pipe(
  Options.withDescription("Show the job's standard error instead of its standard output.")
)
const eventsOption = Options.boolean("events").pipe(Options.withDescription("Print the run's event log (every status change) first."))

const usage = "ccat logs <run> [--stderr] [--events]"

export const eventLine = (e: RunEvent): string => `  ${utcSeconds(e.at)}  ${e.from ?? "(new)"} -> ${e.to}  ${e.actor}: ${e.reason}`

export const renderEventsHeader = (run: RunSummary, events: ReadonlyArray<RunEvent>): string =>
  [
    `run ${run.id}  ${runTarget(run)}  ${run.status}  attempt ${run.attempt}${run.backendJobId === null ? "" : `  job ${run.backendJobId}`}`,
    `events (${events.length}):`,
    ...events.map(eventLine)
  ].join("\n")

export const logsCommand = Command.make("logs", { run: runIdArg, stderr: stderrOption, events: eventsOption }, ({ run, stderr, events }) =>
  oneLineErrors(
    Effect.gen(function* () {
      const runId = yield* parseRunId(run, usage)
      if (events) {
        const summary = yield* findRun(runId)
        yield* Console.log(renderEventsHeader(summary, yield* runEvents(runId)))
      }
      const log = yield* readRunLog(runId, stderr ? "stderr" : "stdout")
      if (events) yield* Console.log(`\n==> ${log.path} <==`)
      // Console.log ends the text with a newline of its own.
      if (log.text !== "") yield* Console.log(log.text.endsWith("\n") ? log.text.slice(0, -1) : log.text)
    })
  )
).pipe(
  Command.withDescription(
    "Print a run's job output (stdout, or stderr with --stderr) from its log folder; --events first prints its status changes. Exit 0: printed; 1: unknown run, or no folder or log yet, or database error; 2: usage."
  )
)
