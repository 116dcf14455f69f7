import type { CstElement, CstNode, IToken } from "chevrotain"
import { parseText, type ParseOutput } from "../compiler/parser.ts"
import { cuts } from "./incremental-parse.ts"

/*
 * The parser's recovered CST of a document, for the editor features that read the text as it
 * is being typed (completion, semantic tokens). They follow the parser's nesting and recovery
 * instead of keeping brace stacks of their own, so a new block is taught to the grammar once.
 *
 * A document is parsed per top-level declaration, cut where incremental-parse.ts cuts it
 * (before every line starting with a declaration keyword): a keystroke re-parses one
 * declaration, and a declaration left open does not swallow the next one, which is how
 * editors expect a half-typed block to behave. Parses are kept by piece text: completion
 * requests come in bursts on an unchanged document, and an edit changes one piece.
 */

/** One declaration's stretch of the document, parsed alone; its offsets are relative to `offset`. */
export interface ParsedPiece {
  /** Offset of the piece's first character in the document. */
  readonly offset: number
  readonly text: string
  readonly parsed: ParseOutput
}

/**
 * Parses by piece text, least recently used first out once they hold more than `maxCachedChars`
 * of text: the pieces of the few documents open in an editor stay, whichever asked last, and
 * a document edited keystroke by keystroke pushes its stale pieces out.
 */
const cached = new Map<string, ParseOutput>()
// A parse holds about 100 bytes per character of its text: about 100 MB, some ten 5k-line files.
const maxCachedChars = 1024 * 1024
let cachedChars = 0

const parsedText = (pieceText: string): ParseOutput => {
  let parsed = cached.get(pieceText)
  if (parsed !== undefined) {
    cached.delete(pieceText)
  } else {
    parsed = parseText(pieceText)
    cachedChars += pieceText.length
    for (const [oldest] of cached) {
      if (cachedChars <= maxCachedChars) break
      cached.delete(oldest)
      cachedChars -= oldest.length
    }
  }
  cached.set(pieceText, parsed)
  return parsed
}

/** Where `text` is cut into pieces; kept for the last text, as requests come in bursts on one. */
let lastCuts: { readonly text: string; readonly starts: ReadonlyArray<number> } | undefined
const cutsOf = (text: string): ReadonlyArray<number> => {
  if (lastCuts?.text !== text) lastCuts = { text, starts: cuts(text) }
  return lastCuts.starts
}

const pieceText = (text: string, starts: ReadonlyArray<number>, i: number): string =>
  text.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : text.length)

/** The pieces of `text`, each with its parse (reused while its text is unchanged). */
export const parsedPieces = (text: string): Array<ParsedPiece> => {
  const starts = cutsOf(text)
  return starts.map((offset, i) => {
    const piece = pieceText(text, starts, i)
    return { offset, text: piece, parsed: parsedText(piece) }
  })
}

/**
 * The piece holding `offset` (the last one starting at or before it), parsed; the other pieces
 * are not parsed: a completion in a file just opened costs one declaration's parse.
 */
export const pieceAt = (text: string, offset: number): ParsedPiece => {
  const starts = cutsOf(text)
  let i = 0
  while (i + 1 < starts.length && starts[i + 1]! <= offset) i++
  const piece = pieceText(text, starts, i)
  return { offset: starts[i]!, text: piece, parsed: parsedText(piece) }
}

export const isToken = (e: CstElement): e is IToken => (e as IToken).tokenType !== undefined

/** A token the parser made up while recovering (an expected `}`); it has no text. */
export const isInserted = (t: IToken): boolean => t.isInsertedInRecovery === true || Number.isNaN(t.startOffset)

/** The node's real tokens, in text order (Chevrotain keeps them per label). */
export const tokensOf = (node: CstNode, out: Array<IToken> = []): Array<IToken> => {
  collect(node, out)
  return out.sort((a, b) => a.startOffset - b.startOffset)
}

const collect = (node: CstNode, out: Array<IToken>): void => {
  for (const key in node.children) {
    for (const e of node.children[key]!) {
      if (isToken(e)) {
        if (!isInserted(e)) out.push(e)
      } else collect(e, out)
    }
  }
}

/** The node's direct child nodes, in text order (nodes without tokens last). */
export const childNodes = (node: CstNode): Array<CstNode> => {
  const out: Array<CstNode> = []
  for (const key in node.children) for (const e of node.children[key]!) if (!isToken(e)) out.push(e)
  return out.sort((a, b) => startOf(a) - startOf(b))
}

const startOf = (n: CstNode): number => {
  const s = n.location?.startOffset
  return s === undefined || Number.isNaN(s) ? Number.MAX_SAFE_INTEGER : s
}

/** The first token under a label, when it is a real one. */
export const tokenAt = (node: CstNode, label: string): IToken | undefined => {
  const e = node.children[label]?.[0]
  return e !== undefined && isToken(e) && !isInserted(e) ? e : undefined
}

/** The child nodes under a label. */
export const nodesAt = (node: CstNode, label: string): Array<CstNode> =>
  (node.children[label] ?? []).filter((e): e is CstNode => !isToken(e))

// Completion asks these of the same nodes on every keystroke in a declaration; its CST is kept
// while its text is unchanged, so the answers are kept with it.
const firsts = new WeakMap<CstNode, IToken | null>()
const lasts = new WeakMap<CstNode, IToken | null>()
const unclosed = new WeakMap<CstNode, boolean>()

const edge = (node: CstNode, memo: WeakMap<CstNode, IToken | null>, later: boolean): IToken | undefined => {
  const known = memo.get(node)
  if (known !== undefined) return known ?? undefined
  let found: IToken | undefined
  for (const key in node.children) {
    for (const e of node.children[key]!) {
      const t = isToken(e) ? (isInserted(e) ? undefined : e) : edge(e, memo, later)
      if (t !== undefined && (found === undefined || (later ? t.startOffset > found.startOffset : t.startOffset < found.startOffset)))
        found = t
    }
  }
  memo.set(node, found ?? null)
  return found
}

/** The node's first real token. */
export const firstToken = (node: CstNode): IToken | undefined => edge(node, firsts, false)

/** The node's last real token. */
export const lastToken = (node: CstNode): IToken | undefined => edge(node, lasts, true)

/** A `{` of this node or one inside it that has no `}` (a real one): the writer is still in it. */
export const leftOpen = (node: CstNode): boolean => {
  let open = unclosed.get(node)
  if (open === undefined) {
    open = (tokenAt(node, "LCurly") !== undefined && tokenAt(node, "RCurly") === undefined) || childNodes(node).some(leftOpen)
    unclosed.set(node, open)
  }
  return open
}
