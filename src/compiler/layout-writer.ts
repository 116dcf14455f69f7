import type { CstNode, IToken } from "chevrotain"

/*
 * The output side of the formatter: indentation, spaces between tokens, at most one kept blank
 * line, and comments placed where they were relative to the tokens around them (trailing a token
 * on its line, or on lines of their own). The formatter (format.ts) decides the structure and
 * calls `token`, `newline`, `openBrace` and friends.
 */

export const indentUnit = "  "

export class LayoutWriter {
  protected out = ""
  protected depth = 0
  protected atLineStart = true
  protected lastEnd = 0
  protected commentIndex = 0
  protected blankRequested = false
  protected pendingSpace = false
  /** Between a `{` and the first thing inside it, where no blank line belongs. */
  protected justOpened = false

  constructor(
    protected readonly source: string,
    protected readonly comments: ReadonlyArray<IToken>,
    protected readonly withComments: boolean
  ) {}

  finish(): string {
    this.flushComments(Number.POSITIVE_INFINITY)
    return this.out
      .replace(/[ \t]+$/gm, "")
      .replace(/\n*$/, "\n")
      .replace(/^\n+/, "")
  }

  protected newline(): void {
    this.flushTrailing()
    if (!this.atLineStart) {
      this.out += "\n"
      this.atLineStart = true
    }
    this.pendingSpace = false
  }

  protected blankLine(): void {
    this.newline()
    this.blankRequested = true
  }

  protected writeRaw(text: string): void {
    if (this.atLineStart) {
      if (this.blankRequested && this.out.length > 0 && !this.justOpened && !this.out.endsWith("{\n")) this.out += "\n"
      this.blankRequested = false
      this.out += indentUnit.repeat(this.depth)
      this.atLineStart = false
    } else if (this.pendingSpace) this.out += " "
    this.pendingSpace = false
    this.out += text
  }

  protected hasBlankLineBetween(from: number, to: number): boolean {
    const between = this.source.slice(from, to)
    return (between.match(/\n/g)?.length ?? 0) >= 2
  }

  /** Comments on the same source line as the last token, before a line break is written. */
  protected flushTrailing(): void {
    for (;;) {
      const next = this.comments[this.commentIndex]
      if (next === undefined || this.atLineStart || this.lastEnd === 0) return
      // Only a comment right after the last token trails it; one after later tokens waits for them.
      if (next.startOffset >= this.lastEnd && !/^[ \t]*$/.test(this.source.slice(this.lastEnd, next.startOffset))) return
      this.flushComments(next.startOffset + 1)
    }
  }

  /** Comments that start before `offset`: on their own line, or trailing the previous token. */
  protected flushComments(offset: number): void {
    while (this.commentIndex < this.comments.length && this.comments[this.commentIndex]!.startOffset < offset) {
      const c = this.comments[this.commentIndex++]!
      if (!this.withComments) continue
      // At the start of an output line a comment stands on its own line even if, in the source,
      // it followed another comment; otherwise a second run would move it.
      const ownLine = this.atLineStart || this.lastEnd === 0 || /\n/.test(this.source.slice(this.lastEnd, c.startOffset))
      if (ownLine) {
        this.newline()
        if (this.hasBlankLineBetween(this.lastEnd, c.startOffset) && this.lastEnd > 0) this.blankRequested = true
        this.writeRaw(c.image.trimEnd())
        this.newline()
      } else {
        this.pendingSpace = false
        this.out += this.atLineStart ? indentUnit.repeat(this.depth) : " "
        this.atLineStart = false
        this.out += c.image.trimEnd()
        if (c.tokenType.name === "LineComment") this.newline()
        else this.pendingSpace = true
      }
      this.lastEnd = (c.endOffset ?? c.startOffset) + 1
    }
  }

  /** Emits a token with a space before it unless glued to the previous one. */
  protected token(t: IToken | undefined, glued = false, text = t?.image ?? ""): void {
    if (t === undefined) return
    this.flushComments(t.startOffset)
    if (this.atLineStart && this.lastEnd > 0 && this.hasBlankLineBetween(this.lastEnd, t.startOffset)) this.blankRequested = true
    if (glued) this.pendingSpace = false
    this.writeRaw(text)
    this.justOpened = false
    this.pendingSpace = true
    this.lastEnd = (t.endOffset ?? t.startOffset) + 1
  }

  /** Leaves a token out of the output (`cpus = 4` is written `cpus 4`). */
  protected skip(t: IToken | undefined): void {
    if (t === undefined) return
    this.flushComments(t.startOffset)
    this.lastEnd = (t.endOffset ?? t.startOffset) + 1
  }

  protected glue(): void {
    this.pendingSpace = false
  }

  protected hasCommentsIn(node: CstNode): boolean {
    const start = node.location?.startOffset ?? 0
    const end = node.location?.endOffset ?? 0
    return this.comments.some((c) => c.startOffset > start && c.startOffset < end)
  }

  protected currentColumn(): number {
    const lineStart = this.out.lastIndexOf("\n") + 1
    return this.atLineStart ? this.depth * indentUnit.length : this.out.length - lineStart
  }

  /** Writes `{` before any comment that precedes it: `name // c\n{` becomes `name { // c`. */
  protected openBrace(t: IToken | undefined): void {
    if (t === undefined) return
    this.writeRaw(t.image)
    this.pendingSpace = true
    this.lastEnd = Math.max(this.lastEnd, (t.endOffset ?? t.startOffset) + 1)
    this.justOpened = true
  }
}
