import { HttpServerResponse } from "@effect/platform"
import { Clock, Effect } from "effect"
import { DiskSpace } from "../runtime/execution/disk-space.ts"
import { metricsText } from "../runtime/serve/metrics.ts"
import { failingCyclesForDegraded, ServeState } from "../runtime/serve/serve-state.ts"

/*
 * /healthz and /metrics (docs/design/runtime.md §6.6), beside the API on the same port:
 * a probe's and Prometheus' view of the loops.
 */

/** A loop that has not finished a cycle for this long is stale. */
const staleAfterMs = 5 * 60_000

export const healthz = Effect.gen(function* () {
  const snapshot = yield* Effect.flatMap(ServeState, (s) => s.snapshot)
  const disk = yield* Effect.flatMap(DiskSpace, (d) => d.shortages)
  const now = yield* Clock.currentTimeMillis
  const loops = snapshot.loops
  const outOfSpace = disk.map((s) => ({
    location: s.location,
    folder: s.folder,
    since: s.since.toISOString(),
    neededBytes: s.neededBytes,
    what: s.what
  }))
  const stale = Object.entries(loops)
    .filter(([, l]) => l.lastSuccessAt === null || now - l.lastSuccessAt > staleAfterMs)
    .map(([n]) => n)
  // A loop that runs but fails every run it handles is no healthier than a dead one.
  const failing = Object.entries(loops)
    .filter(([, l]) => l.allFailedStreak >= failingCyclesForDegraded)
    .map(([n]) => n)
  const ok = stale.length === 0 && failing.length === 0 && outOfSpace.length === 0
  return HttpServerResponse.unsafeJson({ status: ok ? "ok" : "degraded", stale, failing, outOfSpace, loops }, { status: ok ? 200 : 503 })
})

export const metrics = metricsText.pipe(
  Effect.map((text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4" })),
  Effect.catchAll(() => Effect.succeed(HttpServerResponse.text("metrics unavailable: the database did not answer\n", { status: 503 })))
)
