import { canonicalJson } from "../compiler/canonical-json.ts"
import type { IrWorkspace } from "../compiler/ir.ts"
import { definitionJson, namelessHash, stringField, type JsonRecord } from "./entity-json.ts"
import { compareFields, fieldSection, fieldsOf, inputFields, versionsOf } from "./fields.ts"
import { jsonText } from "./json-text.ts"
import { summarize, type EntityChange, type EntityKind, type FieldChange, type Plan, type Reprocess } from "./plan.ts"
import type { StoredDefinition, StoredDefinitions } from "./stored.ts"

/*
 * The plan: stored definitions on one side, the compiled workspace on the other, compared
 * entity by entity and field by field. Pure: the same inputs always give the same plan, which is
 * what makes a saved plan checkable (same base generation, same IR → same plan).
 */

/** One declared entity, as the definition a row would store. */
interface Declared {
  readonly name: string
  readonly definition: JsonRecord
  /** What identifies it apart from its name; see `namelessHash`. */
  readonly content: string
}

/** A declared entity with its change (`null`: it matches), or a retirement. */
interface Slot {
  readonly name: string
  readonly change: EntityChange | null
}

const change = (
  fields: Omit<EntityChange, "fields" | "retiredGeneration" | "renamedFrom" | "renamedTo" | "reprocess"> & Partial<EntityChange>
): EntityChange => ({
  fields: [],
  retiredGeneration: null,
  renamedFrom: null,
  renamedTo: null,
  reprocess: null,
  ...fields
})

const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b)

/** Field by field, in block order; a software's versions as a set. */
export const diffFields = (kind: EntityKind, old: JsonRecord, now: JsonRecord): ReadonlyArray<FieldChange> => {
  const before = fieldsOf(kind, old)
  const after = fieldsOf(kind, now)
  const out: Array<FieldChange> = []
  for (const field of new Set([...before.keys(), ...after.keys()])) {
    const a = before.get(field)
    const b = after.get(field)
    if (!same(a, b)) out.push({ type: "value", field, old: a, new: b })
  }
  if (kind === "software") {
    const a = versionsOf(old)
    const b = versionsOf(now)
    const added = b.filter((v) => !a.includes(v))
    const removed = a.filter((v) => !b.includes(v))
    if (added.length > 0 || removed.length > 0) out.push({ type: "set", field: "versions", added, removed })
  }
  // A grouping's selection follows from its `from` and `where`; when those changed it only
  // repeats them. On its own it is news: a grouping it inherits from changed.
  const own = out.some((f) => f.field === "where" || f.field === "from")
  const shown = kind === "grouping" && own ? out.filter((f) => f.field !== "selection") : out
  const order = compareFields(kind)
  return shown.sort((x, y) => order(x.field, y.field))
}

const reprocessOf = (old: JsonRecord, now: JsonRecord, fields: ReadonlyArray<FieldChange>): Reprocess =>
  stringField(old, "fingerprint") !== stringField(now, "fingerprint")
    ? "fingerprint"
    : fields.some((f) => inputFields.has(fieldSection(f.field)))
      ? "inputs"
      : "none"

/**
 * One kind of definition (or the steps of one pipeline): creates, changes and re-enables in
 * declaration order, each rename's retirement just before its creation, then the other
 * retirements by name.
 */
const diffKind = (
  kind: EntityKind,
  pipeline: string | null,
  stored: ReadonlyArray<StoredDefinition>,
  declared: ReadonlyArray<Declared>,
  storedContent: (s: StoredDefinition) => string
): ReadonlyArray<Slot> => {
  const storedByName = new Map(stored.map((s) => [s.name, s]))
  const declaredNames = new Set(declared.map((d) => d.name))
  const slots: Array<Slot> = declared.map((d) => {
    const s = storedByName.get(d.name)
    if (s === undefined) return { name: d.name, change: change({ action: "create", kind, name: d.name, pipeline }) }
    const fields = diffFields(kind, s.definition, d.definition)
    const reprocess = kind === "step" ? reprocessOf(s.definition, d.definition, fields) : null
    if (s.retiredGeneration !== null) {
      return {
        name: d.name,
        change: change({ action: "reenable", kind, name: d.name, pipeline, fields, retiredGeneration: s.retiredGeneration, reprocess })
      }
    }
    const fingerprintChanged = reprocess === "fingerprint"
    return {
      name: d.name,
      change: fields.length > 0 || fingerprintChanged ? change({ action: "change", kind, name: d.name, pipeline, fields, reprocess }) : null
    }
  })
  const retired = stored
    .filter((s) => s.retiredGeneration === null && !declaredNames.has(s.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

  // A rename is a retirement and a creation of the same content under another name.
  const partner = new Map<string, StoredDefinition>()
  const unmatched = [...retired]
  for (const d of declared) {
    if (storedByName.has(d.name)) continue
    const i = unmatched.findIndex((s) => storedContent(s) === d.content)
    if (i >= 0) partner.set(d.name, unmatched.splice(i, 1)[0]!)
  }
  const retire = (s: StoredDefinition, renamedTo: string | null): Slot => ({
    name: s.name,
    change: change({ action: "retire", kind, name: s.name, pipeline, renamedTo })
  })

  const out: Array<Slot> = []
  for (const slot of slots) {
    const old = partner.get(slot.name)
    if (old !== undefined && slot.change !== null) {
      out.push(retire(old, slot.name))
      out.push({ name: slot.name, change: { ...slot.change, renamedFrom: old.name } })
    } else {
      out.push(slot)
    }
  }
  for (const s of unmatched) out.push(retire(s, null))
  return out
}

const declare = (entity: { readonly name: string }, omit: ReadonlyArray<string> = []): Declared => {
  const definition = definitionJson(entity, omit)
  return { name: entity.name, definition, content: namelessHash(definition) }
}

const byName = <T extends { readonly name: string }>(xs: ReadonlyArray<T>): Array<T> =>
  [...xs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

/** A pipeline's content includes its steps (by name order), so a renamed pipeline is recognised. */
const pipelineContent = (definition: JsonRecord, steps: ReadonlyArray<JsonRecord>): string =>
  namelessHash({ ...definition, steps: byName(steps.map((s) => ({ name: jsonText(s["name"]), s }))).map((x) => x.s) })

export const planChanges = (stored: StoredDefinitions, ir: IrWorkspace): Plan => {
  const shared = (kind: EntityKind, rows: ReadonlyArray<StoredDefinition>, entities: ReadonlyArray<{ readonly name: string }>) =>
    diffKind(
      kind,
      null,
      rows,
      entities.map((e) => declare(e)),
      (s) => namelessHash(s.definition)
    ).flatMap((slot) => (slot.change === null ? [] : [slot.change]))

  const storedPipelines = new Map(stored.pipelines.map((p) => [p.name, p]))
  const declaredPipelines = ir.pipelines.map((p) => {
    const own = declare(p, ["steps"])
    const steps = p.steps.map((s) => declare(s))
    return {
      own: {
        ...own,
        content: pipelineContent(
          own.definition,
          steps.map((s) => s.definition)
        )
      },
      steps
    }
  })
  const activeSteps = (name: string) => (storedPipelines.get(name)?.steps ?? []).filter((s) => s.retiredGeneration === null)
  const pipelineSlots = diffKind(
    "pipeline",
    null,
    stored.pipelines,
    declaredPipelines.map((p) => p.own),
    (s) =>
      pipelineContent(
        s.definition,
        activeSteps(s.name).map((x) => x.definition)
      )
  )
  const stepsByPipeline = new Map(declaredPipelines.map((p) => [p.own.name, p.steps]))
  const pipelineChanges = pipelineSlots.flatMap((slot): Array<EntityChange> => {
    const own = slot.change === null ? [] : [slot.change]
    const declaredSteps = stepsByPipeline.get(slot.name)
    if (declaredSteps === undefined) {
      // A retired pipeline: its active steps retire with it.
      const steps = byName(activeSteps(slot.name)).map((s) => change({ action: "retire", kind: "step", name: s.name, pipeline: slot.name }))
      return [...own, ...steps]
    }
    const storedSteps = storedPipelines.get(slot.name)?.steps ?? []
    const steps = diffKind("step", slot.name, storedSteps, declaredSteps, (s) => namelessHash(s.definition))
    return [...own, ...steps.flatMap((s) => (s.change === null ? [] : [s.change]))]
  })

  const changes = [
    ...shared("location", stored.locations, ir.locations),
    ...shared("software", stored.software, ir.software),
    ...shared("grouping", stored.groupings, ir.groupings),
    ...pipelineChanges
  ]
  return { baseGeneration: stored.generation, ir, changes, summary: summarize(changes) }
}
