import { Data, Either, Schema } from "effect"
import { canonicalJson, sha256 } from "../compiler/canonical-json.ts"
import { decodeIrWorkspace, encodeIrWorkspace, IrJson, type IrWorkspace } from "../compiler/ir.ts"
import { summarize, type EntityChange, type FieldChange, type Plan, type PlanSummary } from "./plan.ts"
import type { RetirementNotices } from "./render-plan.ts"
import { verifyIr } from "./verify-ir.ts"

/*
 * The plan as a stable JSON document (`ccat plan --json`, `--out FILE`), documented in
 * docs/plan-json.md. It carries the whole IR, so that `ccat apply plan.json` applies exactly
 * what was reviewed without the source files.
 *
 * "Exactly" is checked, not assumed: a saved plan is applied only when every hash it carries
 * holds. `planHash` covers the whole document, so that no part of it (the changes a person
 * reviewed, the IR, the base generation) can be edited unnoticed; the IR's own hashes and
 * fingerprints must be what the compiler makes of its fields (verify-ir.ts); the summary must
 * count the changes. apply.ts then requires the listed changes to be the ones the IR makes.
 */

export const PLAN_JSON_VERSION = 1

const fieldJson = (f: FieldChange) =>
  f.type === "set"
    ? { type: f.type, field: f.field, added: f.added, removed: f.removed }
    : // An absent value (a config key that is added or removed) is an absent key.
      { type: f.type, field: f.field, ...(f.old === undefined ? {} : { old: f.old }), ...(f.new === undefined ? {} : { new: f.new }) }

export const changeJson = (c: EntityChange) => ({
  action: c.action,
  kind: c.kind,
  name: c.name,
  pipeline: c.pipeline,
  fields: c.fields.map(fieldJson),
  retiredGeneration: c.retiredGeneration,
  renamedFrom: c.renamedFrom,
  renamedTo: c.renamedTo,
  reprocess: c.reprocess
})

export const planJson = (plan: Plan) => ({
  version: PLAN_JSON_VERSION,
  baseGeneration: plan.baseGeneration,
  irHash: plan.ir.hash,
  summary: plan.summary,
  changes: plan.changes.map(changeJson),
  ir: encodeIrWorkspace(plan.ir)
})

/**
 * What planning found about the plan's retirements, as members of the document. A saved plan
 * keeps them for whoever reads it; `ccat apply` counts the runs and products again under the
 * lock instead of trusting them.
 */
export const retirementNoticesJson = (notices: RetirementNotices) => ({
  retiresBusy: notices.busy.map((b) => ({ pipeline: b.pipeline, inFlight: b.inFlight, productsLastWeek: b.productsLastWeek })),
  retiresDeclaredOutside: (notices.outside?.declarations ?? []).map((d) => ({ pipeline: d.pipeline, file: d.file }))
})

/**
 * The SHA-256 of the document's canonical JSON (keys sorted, no whitespace) without its
 * `planHash` member: of every other member, the trigger preview and the warnings included.
 */
export const planHashOf = (document: object): string => {
  const { planHash: _, ...rest } = document as Record<string, unknown>
  return sha256(canonicalJson(rest))
}

/**
 * A plan document as it is printed and saved: with its `planHash`, second after `version`. The
 * hash is taken over the document as JSON reads it back (members that are `undefined` gone),
 * which is what `ccat apply` recomputes.
 */
export const sealedPlanText = <D extends { readonly version: number }>(document: D): string => {
  const { planHash: _, ...plain } = JSON.parse(JSON.stringify(document)) as Record<string, unknown>
  return JSON.stringify({ version: plain["version"], planHash: planHashOf(plain), ...plain }, null, 2) + "\n"
}

export const planJsonText = (plan: Plan): string => sealedPlanText(planJson(plan))

/** What `ccat apply` needs of a saved plan: the generation it was made against, the IR, and what it lists. */
export interface SavedPlan {
  readonly baseGeneration: number
  readonly ir: IrWorkspace
  readonly summary: PlanSummary
  /** The changes it lists: what the person who reviewed it saw. */
  readonly changes: ReadonlyArray<EntityChange>
}

/** The file is not a plan document this ccat can read at all. */
export class SavedPlanError extends Data.TaggedError("SavedPlanError")<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `${this.path}: not a usable saved plan: ${this.reason}`
  }
}

/** A plan document that is not as `ccat plan` wrote it: one phrase per thing that does not match. */
export class PlanAltered extends Data.TaggedError("PlanAltered")<{ readonly path: string; readonly mismatches: ReadonlyArray<string> }> {
  override get message(): string {
    return `${this.path}: refused, nothing was applied: the plan is not as \`ccat plan\` wrote it. What does not match: ${this.mismatches.join("; ")}. Make the plan again with \`ccat plan --out\` and review it.`
  }
}

const FieldChangeSchema = Schema.Union(
  Schema.Struct({ type: Schema.Literal("value"), field: Schema.String, old: Schema.optional(IrJson), new: Schema.optional(IrJson) }),
  Schema.Struct({
    type: Schema.Literal("set"),
    field: Schema.String,
    added: Schema.Array(Schema.String),
    removed: Schema.Array(Schema.String)
  })
)

const EntityChangeSchema = Schema.Struct({
  action: Schema.Literal("create", "change", "reenable", "retire"),
  kind: Schema.Literal("location", "software", "grouping", "pipeline", "step"),
  name: Schema.String,
  pipeline: Schema.NullOr(Schema.String),
  fields: Schema.Array(FieldChangeSchema),
  retiredGeneration: Schema.NullOr(Schema.Number),
  renamedFrom: Schema.NullOr(Schema.String),
  renamedTo: Schema.NullOr(Schema.String),
  reprocess: Schema.NullOr(Schema.Literal("fingerprint", "inputs", "none"))
})
const decodeChangeList = Schema.decodeUnknownEither(Schema.Array(EntityChangeSchema))
const decodeChanges = (json: unknown): Either.Either<ReadonlyArray<EntityChange>, unknown> =>
  Either.map(decodeChangeList(json), (changes) =>
    // A missing `old` or `new` is a field that did not exist on that side.
    changes.map((c) => ({
      ...c,
      fields: c.fields.map((f): FieldChange => (f.type === "value" ? { type: "value", field: f.field, old: f.old, new: f.new } : f))
    }))
  )

const Document = Schema.Struct({
  version: Schema.Number,
  planHash: Schema.optional(Schema.String),
  baseGeneration: Schema.Int.pipe(Schema.nonNegative()),
  irHash: Schema.String,
  summary: Schema.Struct({ create: Schema.Int, change: Schema.Int, retire: Schema.Int }),
  changes: Schema.Array(Schema.Unknown),
  ir: Schema.Unknown
})
const decodeDocument = Schema.decodeUnknownEither(Document)

/**
 * A saved plan and everything in it that does not match (empty: it is as `ccat plan` wrote it).
 * Left when it is no plan document this ccat reads.
 */
export const inspectSavedPlan = (
  text: string,
  path: string
): Either.Either<{ readonly plan: SavedPlan; readonly mismatches: ReadonlyArray<string> }, SavedPlanError> => {
  const fail = (reason: string) => Either.left(new SavedPlanError({ path, reason }))
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return fail(`invalid JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  const doc = decodeDocument(json)
  if (Either.isLeft(doc)) return fail("it is not a `ccat plan --out` document")
  if (doc.right.version !== PLAN_JSON_VERSION)
    return fail(`format version ${doc.right.version}; this ccat reads version ${PLAN_JSON_VERSION} (make the plan again with this ccat)`)
  // Plans of a ccat before planHash: nothing proves they are unedited.
  if (doc.right.planHash === undefined)
    return fail("it has no planHash (it was made by an older ccat, or edited); make the plan again with `ccat plan --out`")
  const ir = decodeIrWorkspace(doc.right.ir)
  if (Either.isLeft(ir)) return fail("its IR was made by a different version of ccat or edited (make the plan again)")
  const changes = decodeChanges(doc.right.changes)

  const mismatches: Array<string> = []
  if (planHashOf(json as object) !== doc.right.planHash)
    mismatches.push("its planHash (the document was changed after `ccat plan` wrote it)")
  if (ir.right.hash !== doc.right.irHash) mismatches.push("its irHash (not the hash of its IR)")
  mismatches.push(...verifyIr(ir.right))
  if (Either.isLeft(changes)) mismatches.push("the changes it lists (they are not plan changes)")
  else if (canonicalJson(summarize(changes.right)) !== canonicalJson(doc.right.summary))
    mismatches.push("its summary (not the counts of the changes it lists)")
  return Either.right({
    plan: {
      baseGeneration: doc.right.baseGeneration,
      ir: ir.right,
      summary: doc.right.summary,
      changes: Either.getOrElse(changes, () => [])
    },
    mismatches
  })
}

/** A saved plan as `ccat plan` wrote it, or why it cannot be applied. */
export const decodeSavedPlan = (text: string, path: string): Either.Either<SavedPlan, SavedPlanError | PlanAltered> =>
  Either.flatMap(inspectSavedPlan(text, path), ({ plan, mismatches }) =>
    mismatches.length === 0 ? Either.right(plan) : Either.left(new PlanAltered({ path, mismatches }))
  )

const symbols = { create: "+", change: "~", reenable: "~", retire: "-" } as const
const changeLabel = (c: EntityChange): string => `${symbols[c.action]} ${c.kind} ${c.pipeline === null ? "" : `${c.pipeline}.`}${c.name}`

/**
 * How the changes a plan lists differ from those its IR makes against the stored definitions,
 * as one phrase; null when they are the same, in the same order.
 */
export const changesMismatch = (listed: ReadonlyArray<EntityChange>, made: ReadonlyArray<EntityChange>): string | null => {
  const text = (cs: ReadonlyArray<EntityChange>) => canonicalJson(cs.map(changeJson))
  if (text(listed) === text(made)) return null
  const key = (c: EntityChange) => `${c.kind}\u0000${c.pipeline ?? ""}\u0000${c.name}\u0000${c.action}`
  const madeBy = new Map(made.map((c) => [key(c), c]))
  const listedBy = new Map(listed.map((c) => [key(c), c]))
  const notMade = listed.filter((c) => !madeBy.has(key(c))).map(changeLabel)
  const notListed = made.filter((c) => !listedBy.has(key(c))).map(changeLabel)
  const different = listed
    .filter((c) => madeBy.has(key(c)) && canonicalJson(changeJson(c)) !== canonicalJson(changeJson(madeBy.get(key(c))!)))
    .map(changeLabel)
  const parts = [
    ...(notMade.length === 0 ? [] : [`listed but not made: ${notMade.join(", ")}`]),
    ...(notListed.length === 0 ? [] : [`made but not listed: ${notListed.join(", ")}`]),
    ...(different.length === 0 ? [] : [`listed otherwise than made: ${different.join(", ")}`])
  ]
  return `the changes it lists (${parts.length === 0 ? "in another order than its IR makes them" : parts.join("; ")})`
}
