import { Data, Either, Schema } from "effect"
import { decodeIrWorkspace, encodeIrWorkspace, type IrWorkspace } from "../compiler/ir.ts"
import type { EntityChange, FieldChange, Plan, PlanSummary } from "./plan.ts"

/*
 * The plan as a stable JSON document (`ccat plan --json`, `--out FILE`), documented in
 * docs/plan-json.md. It carries the whole IR, so that `ccat apply plan.json` applies exactly
 * what was reviewed without the source files.
 */

export const PLAN_JSON_VERSION = 1

const fieldJson = (f: FieldChange) =>
  f.type === "set"
    ? { type: f.type, field: f.field, added: f.added, removed: f.removed }
    : // An absent value (a config key that is added or removed) is an absent key.
      { type: f.type, field: f.field, ...(f.old === undefined ? {} : { old: f.old }), ...(f.new === undefined ? {} : { new: f.new }) }

const changeJson = (c: EntityChange) => ({
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

export const planJsonText = (plan: Plan): string => JSON.stringify(planJson(plan), null, 2) + "\n"

/** What `ccat apply` needs of a saved plan: the generation it was made against and the IR. */
export interface SavedPlan {
  readonly baseGeneration: number
  readonly ir: IrWorkspace
  readonly summary: PlanSummary
}

export class SavedPlanError extends Data.TaggedError("SavedPlanError")<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `${this.path}: not a usable saved plan: ${this.reason}`
  }
}

const Document = Schema.Struct({
  version: Schema.Number,
  baseGeneration: Schema.Int.pipe(Schema.nonNegative()),
  irHash: Schema.String,
  summary: Schema.Struct({ create: Schema.Int, change: Schema.Int, retire: Schema.Int }),
  changes: Schema.Array(Schema.Unknown),
  ir: Schema.Unknown
})
const decodeDocument = Schema.decodeUnknownEither(Document)

export const decodeSavedPlan = (text: string, path: string): Either.Either<SavedPlan, SavedPlanError> => {
  const fail = (reason: string) => Either.left(new SavedPlanError({ path, reason }))
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return fail(`invalid JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  const doc = decodeDocument(json)
  if (Either.isLeft(doc)) return fail("it is not a `ccat plan --out` document")
  if (doc.right.version !== PLAN_JSON_VERSION) return fail(`format version ${doc.right.version}; this ccat reads version ${PLAN_JSON_VERSION} (make the plan again with this ccat)`)
  const ir = decodeIrWorkspace(doc.right.ir)
  if (Either.isLeft(ir)) return fail("its IR was made by a different version of ccat or edited (make the plan again)")
  if (ir.right.hash !== doc.right.irHash) return fail("its IR does not match its irHash (was the file edited?)")
  return Either.right({ baseGeneration: doc.right.baseGeneration, ir: ir.right, summary: doc.right.summary })
}
