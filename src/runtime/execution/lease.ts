import { SqlClient, type SqlError, type Statement } from "@effect/sql"
import { Context, Effect } from "effect"
import { hostname } from "node:os"
import { processAlive } from "../process-alive.ts"
import { leasedStatuses } from "./run-status.ts"

/*
 * Leases on runs being staged or collected name their owner as `host:pid`. A lease normally
 * ends by time; but when its owner is a process on this host that no longer exists (a crash,
 * kill -9), there is no one to wait for: the lease is released at once, so a restarted server
 * picks up where the dead one stopped.
 *
 * A run in COLLECTING_RESULTS under a live lease is someone's: no other instance may claim it
 * (the replicas issue: a run was collected twice at once, its lineage and copies written twice).
 */

/**
 * Who holds the leases this fiber takes: `host:pid` for a `ccat serve` process. Two serves in
 * one process (the replica tests) each get an owner of their own, `host:pid/<name>`: a lease is
 * then never mistaken for the other's.
 */
export class LeaseOwner extends Context.Reference<LeaseOwner>()("ccat/LeaseOwner", {
  defaultValue: (): string => `${hostname()}:${process.pid}`
}) {}

/** The process id in an owner of this host (`host:pid` or `host:pid/<name>`), or null. */
const ownerPid = (owner: string, prefix: string): number | null => {
  const pid = Number(owner.slice(prefix.length).split("/")[0])
  return Number.isInteger(pid) ? pid : null
}

/**
 * Whether a run may be claimed for collection: any run not already being collected, and one in
 * COLLECTING_RESULTS only once its lease has run out (its owner died or gave up).
 */
export const collectionClaimable = (sql: SqlClient.SqlClient, now: Date): Statement.Fragment =>
  sql`(status <> 'COLLECTING_RESULTS' OR lease_until IS NULL OR lease_until <= ${now})`

/** Whether the lease a claim took is still the claimant's: nobody took the run over meanwhile. */
export const leaseHeld = (sql: SqlClient.SqlClient, owner: string, until: Date): Statement.Fragment =>
  sql`(lease_owner = ${owner} AND lease_until = ${until})`

/** Ends the leases held by dead processes of this host; returns how many runs were freed. */
export const releaseDeadLeases = (now: Date): Effect.Effect<number, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const prefix = `${hostname()}:`
    const owners = yield* sql<{ lease_owner: string }>`
      SELECT DISTINCT lease_owner FROM executed_reduction_step
      -- starts_with, not LIKE: a host name may hold an underscore, which LIKE reads as any character.
      WHERE lease_until > ${now} AND starts_with(lease_owner, ${prefix}) AND status IN ${sql.in(leasedStatuses)}`
    const dead = owners
      .map((o) => o.lease_owner)
      .filter((o) => {
        const pid = ownerPid(o, prefix)
        return pid !== null && pid !== process.pid && !processAlive(pid)
      })
    if (dead.length === 0) return 0
    const freed = yield* sql<{ id: string }>`
      UPDATE executed_reduction_step SET lease_until = ${now}
      WHERE lease_owner IN ${sql.in(dead)} AND lease_until > ${now} AND status IN ${sql.in(leasedStatuses)}
      RETURNING id`
    return freed.length
  })
