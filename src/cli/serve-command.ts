import { Command, Options } from "@effect/cli"
import { Config, Console, type Duration, Effect, Layer, Logger, LogLevel, Option, Queue } from "effect"
import { BackendCallsLive } from "../runtime/backends/backend-calls.ts"
import { ExecutionBackend } from "../runtime/backends/execution-backend.ts"
import { ExecutionConfig } from "../runtime/execution/execution-config.ts"
import { appliedIr } from "../runtime/gaps/applied-definitions.ts"
import { makeProgressPrinter } from "../runtime/serve/progress.ts"
import { servedLines, servedLocations, type ServedLocation } from "../runtime/serve/served-locations.ts"
import { serveSites, type ServedSite } from "../runtime/serve/serve.ts"
import { ServeStateLive } from "../runtime/serve/serve-state.ts"
import { TriggerLoopConfig } from "../runtime/trigger-loop.ts"
import { backendLayerFor, backendOfJobPlace } from "./backend-layer.ts"
import { interruption } from "./exit-code.ts"
import { failWith, oneLineErrors } from "./command-failure.ts"
import { usageError } from "./command-failure.ts"

const usage =
  "ccat serve [--location L]... [--backend local|slurm] [--port N | --listen ADDR:PORT [--read-token]] [--no-http] [--progress] [--exit-when-idle]"

/** `ADDR:PORT` (`[v6]:PORT`), or what is wrong with it. */
export const parseListen = (text: string): { readonly host: string; readonly port: number } | string => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim())
  const port = m === null ? Number.NaN : Number(m[3])
  if (m === null || port > 65535) return `--listen expects ADDR:PORT (e.g. 127.0.0.1:9464, 0.0.0.0:9464, [::1]:9464), got \`${text}\``
  return { host: (m[1] ?? m[2])!, port }
}

/** Addresses that only this machine can reach. */
export const isLoopback = (host: string): boolean => host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host)

/*
 * `ccat serve`: the reconciler. Runs the trigger, submit, collect and purge loops until SIGTERM
 * or Ctrl-C (docs/design/runtime.md §6), with /healthz and /metrics on CCAT_HTTP_PORT: one set of loops per
 * location served, each on the backend its definition declares (served-locations.ts).
 */

const idleOption = Options.boolean("exit-when-idle").pipe(
  Options.withDescription("Stop once nothing is in flight and a trigger pass creates nothing (for demos, tests and batch use).")
)
const portOption = Options.integer("port").pipe(
  Options.withDescription(
    "Serve the dashboard, the API, /healthz and /metrics on this port of 127.0.0.1 (default CCAT_HTTP_PORT, else 9464; 0 picks a free port)."
  ),
  Options.optional
)
const listenOption = Options.text("listen").pipe(
  Options.withDescription(
    "Serve HTTP on this address and port (`ADDR:PORT`, `[::1]:PORT` for IPv6). Beyond loopback it needs --read-token: nobody reads the operations database unannounced."
  ),
  Options.optional
)
const readTokenOption = Options.boolean("read-token").pipe(
  Options.withDescription("Reading the API and the dashboard needs a token too (`ccat token create`), not only actions.")
)
const noHttpOption = Options.boolean("no-http").pipe(
  Options.withDescription("Serve no HTTP endpoints (no dashboard, API, /healthz or /metrics).")
)
const progressOption = Options.boolean("progress").pipe(
  Options.withDescription("Show runs by status per step as they change (redrawn in place on a terminal).")
)

const locationOption = Options.text("location").pipe(
  Options.repeated,
  Options.withDescription(
    "Serve this processing location, with the backend its definition declares (repeat for several). Default: CCAT_LOCATION, else every location whose backend is local (the others are named at start)."
  )
)
const backendOption = Options.choice("backend", ["local", "slurm"]).pipe(
  Options.optional,
  Options.withDescription(
    "Run every location served on this backend instead of the one it declares (a laptop, the demo; also CCAT_BACKEND). Said at start."
  )
)

/** The applied definitions, waiting for the first `ccat apply` when there are none yet. */
const appliedDefinitions = (interval: Duration.Duration, exitWhenIdle: boolean) =>
  Effect.gen(function* () {
    let ir = yield* appliedIr
    if (ir === null) yield* Effect.logWarning("nothing is applied yet: waiting for `ccat apply`")
    while (ir === null && !exitWhenIdle) {
      yield* Effect.sleep(interval)
      ir = yield* appliedIr
    }
    return ir
  })

/**
 * Each location to serve with the backend it declares, each asked first whether it can be
 * reached from here: a location's backend that cannot be is an error naming it, never a
 * fallback to another backend.
 */
const sitesToServe = (execution: ExecutionConfig, served: ReadonlyArray<ServedLocation>) =>
  Effect.forEach(served, (l) =>
    Effect.gen(function* () {
      const jobEnded = l.kind === "local" ? yield* Queue.sliding<void>(1) : undefined
      const backend = backendLayerFor(l.kind, execution, l.options, jobEnded)
      yield* Effect.flatMap(ExecutionBackend, (b) => b.probe).pipe(
        Effect.provide(backend.pipe(Layer.provide(BackendCallsLive))),
        Effect.catchAll((e) => failWith(`location ${l.location}: its ${l.kind} backend cannot be reached here: ${e.reason}`))
      )
      return { location: l.location, backend, collectWake: jobEnded } satisfies ServedSite
    })
  )

export const serveCommand = Command.make(
  "serve",
  {
    exitWhenIdle: idleOption,
    port: portOption,
    listen: listenOption,
    readToken: readTokenOption,
    noHttp: noHttpOption,
    progress: progressOption,
    locations: locationOption,
    backend: backendOption
  },
  ({ exitWhenIdle, port, listen, readToken, noHttp, progress, locations, backend }) =>
    oneLineErrors(
      Effect.gen(function* () {
        // SIGTERM and Ctrl-C are how serve is meant to stop.
        interruption.exitCode = 0
        const execution = yield* ExecutionConfig
        const trigger = yield* TriggerLoopConfig
        const envPort = yield* Config.integer("CCAT_HTTP_PORT").pipe(Config.withDefault(9464))
        const address = Option.isSome(listen)
          ? parseListen(listen.value)
          : { host: "127.0.0.1", port: Option.getOrElse(port, () => envPort) }
        if (typeof address === "string") return yield* usageError(address, usage)
        if (Option.isSome(listen) && Option.isSome(port)) return yield* usageError("give --listen ADDR:PORT or --port N, not both", usage)
        if (!noHttp && !isLoopback(address.host) && !readToken)
          return yield* usageError(
            `listening on ${address.host} (beyond this machine) needs --read-token, so that reading runs and products needs a token too`,
            usage
          )
        const httpPort = noHttp ? null : address.port
        const backendAccess = yield* backendOfJobPlace
        const override = Option.getOrNull(backend) ?? execution.backend
        const requested = locations.length > 0 ? locations : execution.location === null ? [] : [execution.location]
        const ir = yield* appliedDefinitions(trigger.interval, exitWhenIdle)
        if (ir === null) return yield* Console.log("Nothing is applied: nothing to serve.")
        const served = servedLocations(ir.locations, requested, override)
        if (!("served" in served)) return yield* failWith(served.message)
        for (const line of servedLines(served))
          yield* line.startsWith("serving") && !line.includes("overridden") ? Effect.logInfo(line) : Effect.logWarning(line)
        const sites = yield* sitesToServe(execution, served.served)
        const printer = progress ? makeProgressPrinter(process.stdout) : null
        const onCycle = printer === null ? undefined : () => printer().pipe(Effect.ignore)
        yield* serveSites(
          {
            execution,
            triggerInterval: trigger.interval,
            fullPassEvery: trigger.fullPassEvery,
            httpPort,
            httpHost: address.host,
            readsNeedToken: readToken,
            backendAccess,
            exitWhenIdle,
            onCycle,
            // The progress table keeps only warnings of the log: where to point a browser is said anyway.
            onListening: progress ? (line) => Console.log(line) : undefined
          },
          sites
        ).pipe(
          Effect.provide(Layer.mergeAll(BackendCallsLive, ServeStateLive)),
          // The progress table replaces the per-cycle log lines; warnings and errors still show.
          progress ? Logger.withMinimumLogLevel(LogLevel.Warning) : (e) => e
        )
        if (printer !== null) yield* printer(true).pipe(Effect.ignore)
      })
    )
).pipe(
  Command.withDescription(
    "Run the reconciler for the locations given (--location, CCAT_LOCATION; else those whose backend is local), each on the backend its definition declares: trigger, submit, collect and purge loops, with the dashboard, the HTTP API (/api/v1/docs), /healthz and /metrics on one port of loopback. Stops on SIGTERM or Ctrl-C, letting transactions in flight finish; jobs keep running and are adopted at the next start. Exit 0: stopped; 1: failed to start (an unknown location, a backend that cannot be reached)."
  )
)
