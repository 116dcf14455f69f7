import type { IToken } from "chevrotain"
import type { SourceInput } from "./compile.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import { maxNesting } from "./limits.ts"
import { describeToken } from "./parser-messages.ts"
import type { ParseOutput } from "./parser.ts"
import { tokenSpan, type Span } from "./span.ts"

/*
 * Diagnostics of the lexer and the parser: unexpected characters, habits from other languages
 * (`#` comments), unterminated comments, syntax errors, and a missing `}` reported once where
 * it can be fixed.
 */

export const reportLexical = (input: SourceInput, parsed: ParseOutput, sink: DiagnosticSink): void => {
  for (const e of parsed.lexErrors) {
    const line = e.line ?? 1
    const column = e.column ?? 1
    const char = input.text.slice(e.offset, e.offset + e.length)
    const span: Span = {
      file: input.path,
      start: e.offset,
      end: e.offset + e.length,
      startLine: line,
      startColumn: column,
      endLine: line,
      endColumn: column + e.length
    }
    const shown = char.length > 12 ? `${char.slice(0, 12)}…` : char
    sink.report("E001", span, { char: shown }, { help: lexicalHelp(char) })
  }
  for (const c of parsed.comments) {
    if (c.tokenType.name === "HashComment") {
      const span = tokenSpan(input.path, c)!
      const hash = { ...span, end: span.start + 1, endLine: span.startLine, endColumn: span.startColumn + 1 }
      sink.report(
        "E001",
        hash,
        { char: "#" },
        {
          help: "comments start with `//` or are written `/* ... */`",
          fixes: [{ title: "Replace with `//`", span: hash, replacement: "//" }]
        }
      )
    }
    if (c.tokenType.name === "UnterminatedBlockComment") {
      const span = tokenSpan(input.path, c)!
      sink.report(
        "E003",
        { ...span, end: span.start + 2, endLine: span.startLine, endColumn: span.startColumn + 2 },
        {},
        { help: "close it with `*/`" }
      )
    }
  }
}

const lexicalHelp = (char: string): string | undefined => {
  if (char.startsWith("#")) return "comments start with `//` or are written `/* ... */`"
  if (char.startsWith("'")) return 'strings use double quotes: `"..."`'
  if (char.startsWith("&")) return "write `and`"
  if (char.startsWith("|")) return "write `or`"
  if (char.startsWith("!")) return "write `not`, or `!=` for inequality"
  if (char.startsWith(";")) return "no semicolons are needed: entries are separated by spaces or new lines"
  if (char.startsWith(":")) return "properties are written without a colon, e.g. `cooldown 60s`; config entries use `=`"
  return undefined
}

export const reportSyntax = (input: SourceInput, parsed: ParseOutput, sink: DiagnosticSink): void => {
  let reportedUnclosed = false
  for (const e of parsed.parseErrors) {
    if (e.nesting !== undefined) {
      sink.report(
        "E100",
        tokenSpan(input.path, e.token)!,
        { what: e.nesting === "nots" ? "`not`s in a row nest" : "brackets, braces and parentheses nest" },
        {
          help:
            e.nesting === "nots"
              ? "two `not`s cancel out: remove them in pairs"
              : `what is inside this one is skipped; write the data flatter (at most ${maxNesting} levels)`
        }
      )
      continue
    }
    const atEnd = e.token.tokenType.name === "EOF" || Number.isNaN(e.token.startOffset)
    const missingBrace = atEnd || /^expected `}`/.test(e.message)
    const open = missingBrace ? openBraces(parsed.tokens, atEnd ? Number.POSITIVE_INFINITY : e.token.startOffset) : undefined
    if (open !== undefined && open.unclosed !== undefined) {
      // One missing `}` derails everything after it; say it once, where it can be fixed.
      if (reportedUnclosed) continue
      reportedUnclosed = true
      const related = []
      if (open.suspicious !== undefined) {
        related.push({
          span: tokenSpan(input.path, open.suspicious.open)!,
          message: `this block's \`}\` may be missing: the \`}\` on line ${open.suspicious.close.startLine} is indented like an outer block`
        })
      }
      if (!atEnd) related.push({ span: tokenSpan(input.path, e.token)!, message: `the block is still open at ${describeToken(e.token)}` })
      sink.report("E006", tokenSpan(input.path, open.unclosed)!, {}, { help: "add the matching `}`", related })
      continue
    }
    const span = atEnd ? endOfPrevious(input, e.previousToken ?? parsed.tokens[parsed.tokens.length - 1]) : tokenSpan(input.path, e.token)!
    sink.report("E005", span, { detail: e.message })
  }
}

const endOfPrevious = (input: SourceInput, previous: IToken | undefined): Span => {
  const span = previous === undefined ? undefined : tokenSpan(input.path, previous)
  if (span === undefined) return { file: input.path, start: 0, end: 0, startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 }
  return { ...span, start: span.end, startLine: span.endLine, startColumn: span.endColumn }
}

/**
 * The innermost `{` still open before `offset`, and the first block whose `}` is indented
 * differently from the line of its `{`: the likely place of a missing `}`, as rustc points out.
 */
const openBraces = (
  tokens: ReadonlyArray<IToken>,
  offset: number
): { unclosed: IToken | undefined; suspicious: { open: IToken; close: IToken } | undefined } => {
  const indentOfLine = new Map<number, number>()
  for (const t of tokens) {
    if (t.startLine !== undefined && !indentOfLine.has(t.startLine)) indentOfLine.set(t.startLine, (t.startColumn ?? 1) - 1)
  }
  const stack: Array<IToken> = []
  let suspicious: { open: IToken; close: IToken } | undefined
  for (const t of tokens) {
    if (t.startOffset >= offset) break
    if (t.tokenType.name === "LCurly") stack.push(t)
    else if (t.tokenType.name === "RCurly") {
      const open = stack.pop()
      const openIndent = indentOfLine.get(open?.startLine ?? -1)
      if (open !== undefined && suspicious === undefined && open.startLine !== t.startLine && openIndent !== (t.startColumn ?? 1) - 1) {
        suspicious = { open, close: t }
      }
    }
  }
  return { unclosed: stack[stack.length - 1], suspicious }
}
