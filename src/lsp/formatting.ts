import type { TextEdit } from "vscode-languageserver"
import type { TextDocument } from "vscode-languageserver-textdocument"
import { formatText } from "../compiler/format.ts"
import { fullRange } from "./positions.ts"

/** The whole document through `ccat fmt`'s formatter; no edits when it refuses (syntax errors). */
export const formatDocument = (doc: TextDocument): Array<TextEdit> => {
  const text = doc.getText()
  const formatted = formatText(text)
  if (!formatted.ok || formatted.text === text) return []
  return [{ range: fullRange(doc), newText: formatted.text }]
}
