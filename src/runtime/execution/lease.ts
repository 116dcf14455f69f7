import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { hostname } from "node:os"
import { processAlive } from "../process-alive.ts"

/*
 * Leases on runs being staged or collected name their owner as `host:pid`. A lease normally
 * ends by time; but when its owner is a process on this host that no longer exists (a crash,
 * kill -9), there is no one to wait for: the lease is released at once, so a restarted server
 * picks up where the dead one stopped.
 */

export const leaseOwner = `${hostname()}:${process.pid}`


/** Ends the leases held by dead processes of this host; returns how many runs were freed. */
export const releaseDeadLeases = (now: Date): Effect.Effect<number, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const prefix = `${hostname()}:`
    const owners = yield* sql<{ lease_owner: string }>`
      SELECT DISTINCT lease_owner FROM executed_reduction_step
      WHERE lease_until > ${now} AND lease_owner LIKE ${`${prefix}%`} AND status IN ('STAGING_DATA', 'COLLECTING_RESULTS')`
    const dead = owners.map((o) => o.lease_owner).filter((o) => {
      const pid = Number(o.slice(prefix.length))
      return Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)
    })
    if (dead.length === 0) return 0
    const freed = yield* sql<{ id: string }>`
      UPDATE executed_reduction_step SET lease_until = ${now}
      WHERE lease_owner IN ${sql.in(dead)} AND lease_until > ${now} AND status IN ('STAGING_DATA', 'COLLECTING_RESULTS')
      RETURNING id`
    return freed.length
  })
