import { CodeActionKind, type CodeAction, type Range } from "vscode-languageserver"
import { toLspDiagnostic } from "./diagnostics.ts"
import { positionToOffset, spanToRange } from "./positions.ts"
import type { Snapshot } from "./workspace-state.ts"

/*
 * Quick fixes: each diagnostic's `fixes` (the "did you mean" replacements) on the requested
 * range, as edits of the current text.
 */

export const codeActions = (snapshot: Snapshot, uriOf: (path: string) => string, path: string, range: Range): Array<CodeAction> => {
  const doc = snapshot.docs.get(path)
  if (doc === undefined) return []
  const from = positionToOffset(doc, range.start)
  const to = positionToOffset(doc, range.end)
  const actions: Array<CodeAction> = []
  for (const d of snapshot.result.diagnostics) {
    if (d.span.file !== path || d.fixes.length === 0) continue
    // Overlapping, or touching the cursor (an empty range at a name's end is on the name).
    if (d.span.end < from || d.span.start > to) continue
    const diagnostic = toLspDiagnostic(d, snapshot, uriOf)
    d.fixes.forEach((fix, index) => {
      const fixDoc = snapshot.docs.get(fix.span.file)
      if (fixDoc === undefined) return
      actions.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        ...(diagnostic === undefined ? {} : { diagnostics: [diagnostic] }),
        isPreferred: d.fixes.length === 1 && index === 0,
        edit: { changes: { [uriOf(fix.span.file)]: [{ range: spanToRange(fixDoc, fix.span), newText: fix.replacement }] } }
      })
    })
  }
  return actions
}
