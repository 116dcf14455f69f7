import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Effect } from "effect"
import { inFlightStatuses } from "../runtime/execution/run-status.ts"
import type { Plan } from "./plan.ts"

/*
 * Work a plan would stop: an enabled pipeline it retires (a rename's retirement included: the
 * new name starts afresh) that has runs in flight or made products lately. Retiring does not
 * cancel its runs in flight (docs/design/runtime.md §1.4), but it stops every new run of a
 * pipeline that is plainly in use, which is rarely what planning the wrong folder meant.
 * `ccat plan` says so; `ccat apply` asks for `--allow-retire` (as Terraform's `prevent_destroy`).
 */

/** How far back a product counts as recent. */
export const recentProductDays = 7

export interface BusyRetirement {
  readonly pipeline: string
  /** Runs from PENDING to COLLECTING_RESULTS. */
  readonly inFlight: number
  /** Products created in the last `recentProductDays` days. */
  readonly productsLastWeek: number
}

/** The pipelines a plan retires, by name. */
export const retiredPipelineNames = (plan: Plan): ReadonlyArray<string> =>
  plan.changes.filter((c) => c.kind === "pipeline" && c.action === "retire").map((c) => c.name)

/**
 * The enabled pipelines the plan retires that have work in flight or recent products, by name;
 * empty (and no query) when it retires no pipeline. One query: counts per pipeline from the
 * runs' (step_id, status) and the products' step_id indexes.
 */
export const busyRetirements = (plan: Plan): Effect.Effect<ReadonlyArray<BusyRetirement>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const names = retiredPipelineNames(plan)
    if (names.length === 0) return []
    const sql = yield* SqlClient.SqlClient
    const since = new Date((yield* Clock.currentTimeMillis) - recentProductDays * 24 * 3600 * 1000)
    const rows = yield* sql<{ name: string; in_flight: number; products: number }>`
      SELECT p.name,
        (SELECT count(*) FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id
          WHERE s.pipeline_id = p.id AND r.status IN ${sql.in(inFlightStatuses)})::int4 AS in_flight,
        (SELECT count(*) FROM data_product d JOIN reduction_step s ON s.id = d.step_id
          WHERE s.pipeline_id = p.id AND d.created_at >= ${since})::int4 AS products
      FROM pipeline p
      WHERE p.name IN ${sql.in(names)} AND p.enabled AND p.retired_generation IS NULL
      ORDER BY p.name`
    return rows
      .filter((r) => r.in_flight > 0 || r.products > 0)
      .map((r) => ({ pipeline: r.name, inFlight: r.in_flight, productsLastWeek: r.products }))
  })

/**
 * Under the definitions lock, before counting: a run being inserted for one of these steps holds
 * a key-share lock on its step row until it commits, so this waits for it and the count that
 * follows sees it. Runs the trigger inserts afterwards wait for the apply instead.
 */
export const lockRetiredSteps = (plan: Plan): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const names = retiredPipelineNames(plan)
    if (names.length === 0) return
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      SELECT s.id FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id
      WHERE p.name IN ${sql.in(names)} AND p.enabled AND p.retired_generation IS NULL
      FOR UPDATE OF s`
  })

const counted = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`

/** `this plan retires pipeline p, which has 12 runs in flight and 340 products from the last 7 days` */
export const busyRetirementText = (b: BusyRetirement): string => {
  const work = [
    ...(b.inFlight === 0 ? [] : [`${counted(b.inFlight, "run", "runs")} in flight`]),
    ...(b.productsLastWeek === 0 ? [] : [`${counted(b.productsLastWeek, "product", "products")} from the last ${recentProductDays} days`])
  ]
  return `this plan retires pipeline ${b.pipeline}, which has ${work.join(" and ")}`
}
