/** Selections and sub-groups: a grouping's rules as SQL, and the keys of a `group_by`'s sub-groups. */
export { UnknownSchemaReference } from "./errors.ts"
export {
  filterCondition,
  filterTables,
  keyedSelection,
  keyedSelectionTables,
  selectionQuery,
  type KeyedSelectionOptions,
  type SelectionOptions,
  type SelectionRow
} from "./filter-sql.ts"
export {
  decodeSubGroupKey,
  maxKeyLength,
  subGroupKey,
  subGroupKeyExpression,
  subGroupKeyFollowsPackageLinks,
  subGroupKeyPathTables,
  subGroupKeySql,
  subGroupMembers,
  type DimensionKeySql
} from "./sub-group-key.ts"
