import { Data } from "effect"

/**
 * A filter or `group_by` names a table, column or dimension the schema registry does not have.
 * The compiler checks every reference against the same registry, so this means the IR and the
 * registry disagree (an IR from another version): a bug, not a user error.
 */
export class UnknownSchemaReference extends Data.TaggedError("UnknownSchemaReference")<{
  readonly kind: "table" | "column" | "dimension"
  readonly name: string
}> {
  override get message(): string {
    return `the schema registry has no ${this.kind} \`${this.name}\``
  }
}
