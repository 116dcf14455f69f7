import type { SqlClient, Statement } from "@effect/sql"
import type { IrStep } from "../../compiler/ir.ts"

/*
 * Every decision the trigger makes about a (step, sub-group) carries one of these codes
 * (docs/design/runtime.md §2.5). Codes that create a run become the run's `reason`; the others say
 * why no run was created, and `ccat plan` and `ccat why` count and explain them.
 *
 * `reasonTable` is the one place a code is defined: whether it creates a run, its words, and the
 * SQL condition that decides it, in precedence order. From it come the CASE of the decision
 * statement (`reasonCase`, used by evaluate-step.ts), the words of `ccat plan`, `ccat why` and the
 * pass log, and the reason sections of README.md and docs/design/runtime.md
 * (scripts/generate-reason-docs.ts; test/reason-docs.test.ts fails when they are stale).
 */

/**
 * What a condition is decided from: the step and how it is evaluated, known in JavaScript. In SQL a
 * condition reads the relations of the decision statement (evaluate-step.ts), one row per
 * sub-group:
 *
 *   k        the sub-group: identity, input_count (NULL identity: no inputs), in_flight and failed
 *            (upstream runs covering it), latest_id, latest_created_at, latest_fingerprint (its
 *            newest run), latest_done (that run COMPLETED with these inputs; whole-step only);
 *   flying   its run in flight, if any: id, input_identity;
 *   same     over its runs with exactly these inputs: completed, failed, cancelled (NULL when none);
 *   served   sub_group_key not NULL when the request asking now has made a run of it already;
 *   rebuild  run_id not NULL when a downstream step asked for its newest run to be rebuilt.
 */
export interface DecisionTerms {
  readonly sql: SqlClient.SqlClient
  readonly step: IrStep
  /** The step reads raw data (no `after`). */
  readonly root: boolean
  /** A person asked (`ccat run`): cooldown is waived, failed or cancelled identities reopen. */
  readonly manual: boolean
  /** The request forces a run of every sub-group it has not run yet. */
  readonly force: boolean
  readonly now: Date
}

interface ReasonRow {
  readonly code: string
  /** Creates a run (its `reason`), or holds the sub-group without one. */
  readonly creates: boolean
  /** One line, as `ccat plan` and `ccat why` print it and the docs' tables show it. */
  readonly words: string
  /** The condition in words, for the precedence list in the docs. */
  readonly when: string
  /**
   * The condition in SQL, tried after every row above it failed. `true`: it applies to every
   * sub-group that gets this far (the rows below it are never reached); `false`: never, in this
   * evaluation (left out of the statement).
   */
  readonly decides: (t: DecisionTerms) => Statement.Fragment | boolean
  /** A request that met it stays open: the sub-group is not decided for good yet. */
  readonly keepsRequestOpen?: true
  /** A hold that `ccat status` still counts into the step's gap: a run will come without anyone acting. */
  readonly countsInGap?: true
}

/** A forcing request that has not made a run of this sub-group yet gets one (MANUAL) over what would hold it. */
const unlessForced = (t: DecisionTerms, condition: Statement.Fragment): Statement.Fragment =>
  t.force ? t.sql`${condition} AND served.sub_group_key IS NOT NULL` : condition

/** The definition differs from the newest run's, and this is how (read from that run only then). */
const latestRunDiffers = (t: DecisionTerms, how: Statement.Fragment): Statement.Fragment =>
  t.sql`k.latest_fingerprint <> ${t.step.fingerprint}
            AND (SELECT ${how} FROM executed_reduction_step x WHERE x.id = k.latest_id)`

/** The reasons in precedence order: a sub-group gets the first whose condition holds. */
export const reasonTable = [
  {
    code: "WAITING_UPSTREAM",
    creates: false,
    words: "an upstream run covering this sub-group is still pending or running, or an input it needs was purged and is being made again",
    when: "an upstream or ancestor run covering it is pending or running",
    decides: (t) => t.sql`coalesce(k.in_flight, 0) > 0`,
    keepsRequestOpen: true
  },
  {
    code: "FAILED_UPSTREAM",
    creates: false,
    words: "every upstream run covering this sub-group failed for good",
    when: "no inputs, and an upstream run covering it failed for good",
    decides: (t) => t.sql`k.identity IS NULL AND coalesce(k.failed, 0) > 0`
  },
  {
    code: "NO_INPUTS",
    creates: false,
    words: "no upstream products fall in this sub-group",
    when: "no inputs",
    decides: (t) => t.sql`k.identity IS NULL`
  },
  {
    code: "IN_FLIGHT",
    creates: false,
    words: "a run with exactly these inputs is pending or running",
    when: "a run with this identity is in flight (and no forcing request without a run of it here)",
    decides: (t) => unlessForced(t, t.sql`flying.input_identity = k.identity`)
  },
  {
    code: "AFTER_IN_FLIGHT",
    creates: false,
    words: "inputs changed while a run is in flight; a new run follows when it ends",
    when: "a run with another identity is in flight (or a forcing request waits for the one in flight)",
    decides: (t) => t.sql`flying.id IS NOT NULL`,
    keepsRequestOpen: true,
    countsInGap: true
  },
  {
    code: "INPUT_PURGED",
    creates: true,
    words: "its products were purged and a downstream run needs them: they are made again",
    when: "a downstream sub-group asked to rebuild the latest run, whose products were purged (§5.4), unless a forcing request without a run of it here",
    decides: (t) => unlessForced(t, t.sql`rebuild.run_id IS NOT NULL`)
  },
  {
    code: "UP_TO_DATE",
    creates: false,
    words: "a completed run has exactly these inputs and this fingerprint",
    when: "a COMPLETED run has this identity, unless a forcing request without a run of it here",
    decides: (t) => unlessForced(t, t.sql`(k.latest_done OR same.completed)`)
  },
  {
    code: "MANUAL",
    creates: true,
    words: "requested by `ccat run`",
    when: "a manual request without a run of it here forces a run, or reopens a FAILED or CANCELLED identity",
    decides: (t) =>
      t.force
        ? t.sql`served.sub_group_key IS NULL`
        : t.manual
          ? t.sql`served.sub_group_key IS NULL AND (same.failed OR same.cancelled)`
          : false
  },
  {
    code: "FAILED_FINAL",
    creates: false,
    words: "a run with exactly these inputs failed for good; it reopens when its inputs or definition change, or by `ccat run`",
    when: "a FAILED run has this identity",
    decides: (t) => t.sql`same.failed`
  },
  {
    code: "CANCELLED",
    creates: false,
    words: "a run with exactly these inputs was cancelled; `ccat run` reopens it",
    when: "a CANCELLED run has this identity",
    decides: (t) => t.sql`same.cancelled`
  },
  {
    code: "COOLDOWN",
    creates: false,
    words: "the previous run started less than a cooldown ago",
    when: "not a manual request, and the latest run was created less than `cooldown` ago",
    decides: (t) =>
      t.manual || t.step.cooldownSeconds === null
        ? false
        : t.sql`k.latest_id IS NOT NULL AND k.latest_created_at + make_interval(secs => ${t.step.cooldownSeconds}::float8) > ${t.now}::timestamptz`,
    keepsRequestOpen: true,
    countsInGap: true
  },
  {
    code: "CONFIG_CHANGED",
    creates: true,
    words: "the step's config changed since the last run",
    when: "the fingerprint differs from the latest run's, and so does the config",
    decides: (t) => latestRunDiffers(t, t.sql`x.config <> ${JSON.stringify(t.step.config)}::jsonb`)
  },
  {
    code: "SOFTWARE_CHANGED",
    creates: true,
    words: "the software version or image changed in a way the version policy counts",
    when: "the fingerprint differs from the latest run's, and so does the software version or image",
    decides: (t) => latestRunDiffers(t, t.sql`x.software_version <> ${t.step.software.version} OR x.image <> ${t.step.software.image}`)
  },
  {
    code: "DEFINITION_CHANGED",
    creates: true,
    words: "the command or the version policy changed (config and version did not)",
    when: "the fingerprint differs from the latest run's (the command or the version policy)",
    decides: (t) => t.sql`k.latest_fingerprint <> ${t.step.fingerprint}`
  },
  {
    code: "NEW_DATA",
    creates: true,
    words: "new or changed input data",
    when: "otherwise, in a step without `after` (no run yet, or other inputs)",
    decides: (t) => t.root
  },
  {
    code: "UPSTREAM_CHANGED",
    creates: true,
    words: "upstream steps produced new or different products",
    when: "otherwise, in a step with `after` (no run yet, or other inputs)",
    decides: (t) => !t.root
  }
] as const satisfies ReadonlyArray<ReasonRow>

type Row = (typeof reasonTable)[number]
export type ReasonCode = Row["code"]
export type CreateReason = Extract<Row, { readonly creates: true }>["code"]
export type HoldReason = Extract<Row, { readonly creates: false }>["code"]

/**
 * The order `ccat plan`, `ccat why` and the pass log list codes in: creates, then holds. A code
 * left out here is listed after these, in precedence order.
 */
const listOrder: ReadonlyArray<ReasonCode> = [
  "NEW_DATA",
  "CONFIG_CHANGED",
  "SOFTWARE_CHANGED",
  "DEFINITION_CHANGED",
  "UPSTREAM_CHANGED",
  "INPUT_PURGED",
  "MANUAL",
  "UP_TO_DATE",
  "IN_FLIGHT",
  "AFTER_IN_FLIGHT",
  "COOLDOWN",
  "WAITING_UPSTREAM",
  "FAILED_FINAL",
  "CANCELLED",
  "FAILED_UPSTREAM",
  "NO_INPUTS"
]

const rowOf = new Map<string, ReasonRow>(reasonTable.map((r) => [r.code, r]))
const listed: ReadonlyArray<ReasonRow> = [...new Set([...listOrder, ...reasonTable.map((r) => r.code)])].map((code) => rowOf.get(code)!)

/** The codes that create a run, in listing order. */
export const createReasons = listed.filter((r) => r.creates).map((r) => r.code as CreateReason)
/** The codes that hold a sub-group without a run, in listing order. */
export const holdReasons = listed.filter((r) => !r.creates).map((r) => r.code as HoldReason)

export const isCreateReason = (code: string): code is CreateReason => rowOf.get(code)?.creates === true

/**
 * Reasons that keep a trigger request open: the request has not had its full effect until the
 * sub-group can be decided for good. A request closes on the first pass without any of them.
 */
export const unsettledReasons: ReadonlySet<ReasonCode> = new Set(
  reasonTable.filter((r: ReasonRow) => r.keepsRequestOpen === true).map((r) => r.code)
)

/** Holds that count into a step's gap in `ccat status`, besides the reasons that create a run. */
export const gapHoldReasons: ReadonlyArray<ReasonCode> = reasonTable.filter((r: ReasonRow) => r.countsInGap === true).map((r) => r.code)

/** One line per code, as `ccat plan` and `ccat why` print it. */
export const reasonDescriptions = Object.fromEntries(listed.map((r) => [r.code, r.words])) as Readonly<Record<ReasonCode, string>>

/**
 * The reason of every sub-group, as one SQL CASE over the relations of the decision statement
 * (DecisionTerms): the table's rows in order, those that cannot apply in this evaluation left
 * out, ending at the first that always applies. Codes are bound parameters, never SQL text.
 */
export const reasonCase = (t: DecisionTerms): Statement.Fragment => {
  const branches: Array<Statement.Fragment> = []
  for (const row of reasonTable as ReadonlyArray<ReasonRow>) {
    const condition = row.decides(t)
    if (condition === false) continue
    if (condition === true) {
      return branches.length === 0
        ? t.sql`${row.code}::text`
        : t.sql`CASE ${t.sql.join("\n          ", false)(branches)}\n          ELSE ${row.code} END`
    }
    branches.push(t.sql`WHEN ${condition} THEN ${row.code}`)
  }
  // The table ends in rows that always apply (NEW_DATA or UPSTREAM_CHANGED): never reached.
  return t.sql`CASE ${t.sql.join("\n          ", false)(branches)} END`
}
