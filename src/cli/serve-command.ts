import { Command, Options } from "@effect/cli"
import { Config, Effect, Layer, Logger, LogLevel, Option, Queue } from "effect"
import { BackendCallsLive } from "../runtime/backends/backend-calls.ts"
import { ExecutionConfig } from "../runtime/execution/execution-config.ts"
import { configuredBackendLayer } from "./backend-layer.ts"
import { makeProgressPrinter } from "../runtime/serve/progress.ts"
import { serve } from "../runtime/serve/serve.ts"
import { ServeStateLive } from "../runtime/serve/serve-state.ts"
import { TriggerLoopConfig } from "../runtime/trigger-loop.ts"
import { interruption } from "./exit-code.ts"
import { oneLineErrors } from "./plan-command.ts"

/*
 * `ccat serve`: the reconciler. Runs the trigger, submit and collect loops until SIGTERM or
 * Ctrl-C (runtime.md §6), with /healthz and /metrics on CCAT_HTTP_PORT.
 */

const idleOption = Options.boolean("exit-when-idle").pipe(
  Options.withDescription("Stop once nothing is in flight and a trigger pass creates nothing (for demos, tests and batch use).")
)
const portOption = Options.integer("port").pipe(
  Options.withDescription("Serve /healthz and /metrics on this port of 127.0.0.1 (default CCAT_HTTP_PORT, else 9464; 0 picks a free port)."),
  Options.optional
)
const noHttpOption = Options.boolean("no-http").pipe(Options.withDescription("Serve no HTTP endpoints."))
const progressOption = Options.boolean("progress").pipe(
  Options.withDescription("Show runs by status per step as they change (redrawn in place on a terminal).")
)

export const serveCommand = Command.make("serve", { exitWhenIdle: idleOption, port: portOption, noHttp: noHttpOption, progress: progressOption }, ({ exitWhenIdle, port, noHttp, progress }) =>
  oneLineErrors(
    Effect.gen(function* () {
      // SIGTERM and Ctrl-C are how serve is meant to stop.
      interruption.exitCode = 0
      const execution = yield* ExecutionConfig
      const trigger = yield* TriggerLoopConfig
      const envPort = yield* Config.integer("CCAT_HTTP_PORT").pipe(Config.withDefault(9464))
      const httpPort = noHttp ? null : Option.getOrElse(port, () => envPort)
      const jobEnded = yield* Queue.sliding<void>(1)
      const backend = configuredBackendLayer(execution, jobEnded)
      yield* Effect.logInfo(`ccat serve: ${execution.backend} backend, location ${execution.location ?? "(all)"}`)
      const printer = progress ? makeProgressPrinter(process.stdout) : null
      const onCycle = printer === null ? undefined : () => printer().pipe(Effect.ignore)
      yield* serve({ execution, triggerInterval: trigger.interval, fullPassEvery: trigger.fullPassEvery, httpPort, exitWhenIdle, collectWake: jobEnded, onCycle }).pipe(
        Effect.provide(Layer.mergeAll(backend.pipe(Layer.provideMerge(BackendCallsLive)), ServeStateLive)),
        // The progress table replaces the per-cycle log lines; warnings and errors still show.
        progress ? Logger.withMinimumLogLevel(LogLevel.Warning) : (e) => e
      )
      if (printer !== null) yield* printer(true).pipe(Effect.ignore)
    })
  )
).pipe(
  Command.withDescription(
    "Run the reconciler: trigger, submit and collect loops, with /healthz and /metrics. Stops on SIGTERM or Ctrl-C, letting transactions in flight finish; jobs keep running and are adopted at the next start. Exit 0: stopped; 1: failed to start."
  )
)
