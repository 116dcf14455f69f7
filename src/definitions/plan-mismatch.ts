import { Data } from "effect"
import type { EntityChange } from "./plan.ts"

/*
 * A plan whose changes name what its IR or the stored definitions do not have. `planChanges`
 * never makes one (it plans from those very rows, under the definitions lock), so meeting one
 * means the plan was made elsewhere or by hand: the writer refuses it before writing a row.
 */

export class PlanDoesNotMatchDefinitions extends Data.TaggedError("PlanDoesNotMatchDefinitions")<{
  /** The change that cannot be carried out, as `create step chai_standing.calibrate`. */
  readonly change: string
  /** What it needs and is not there, as `pipeline chai_standing, which is neither stored nor created by the plan`. */
  readonly missing: string
}> {
  override get message(): string {
    return `refused, nothing was written: the plan does not match its IR and the stored definitions. To ${this.change} it needs ${this.missing}. Make the plan again with \`ccat plan\`.`
  }
}

const verbs: Readonly<Record<EntityChange["action"], string>> = {
  create: "create",
  change: "change",
  reenable: "re-enable",
  retire: "retire"
}

/** A definition as messages name it: `location cluster`, `step chai_standing.calibrate`. */
export const definitionName = (change: Pick<EntityChange, "kind" | "name" | "pipeline">): string =>
  change.kind === "step" ? `step ${change.pipeline ?? "?"}.${change.name}` : `${change.kind} ${change.name}`

export const describeChange = (change: EntityChange): string => `${verbs[change.action]} ${definitionName(change)}`
