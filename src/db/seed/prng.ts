import { createHash } from "node:crypto"

/*
 * A small seeded PRNG (sfc32) for the demo dataset. Math.random cannot be seeded, and the demo
 * must come out byte for byte the same on every machine: integer arithmetic only in the core,
 * seeded from SHA-256 of a name so that each night, scan and package has its own stream and
 * adding a scan never shifts the numbers of another.
 */
export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number
  // A flag and a number rather than `number | undefined`: the field stays a plain double in V8.
  private spare = 0
  private hasSpare = false

  constructor(seed: string) {
    const h = createHash("sha256").update(seed).digest()
    this.a = h.readUInt32LE(0)
    this.b = h.readUInt32LE(4)
    this.c = h.readUInt32LE(8)
    this.d = h.readUInt32LE(12)
    // The first outputs of sfc32 still carry the seed's structure; discard them.
    for (let i = 0; i < 12; i++) this.next()
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return (t >>> 0) / 4294967296
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next()
  }

  /** An integer in [min, max], both ends included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  /** Standard normal (Box-Muller); the second value of each pair is kept for the next call. */
  normal(mean = 0, sigma = 1): number {
    if (this.hasSpare) {
      this.hasSpare = false
      return mean + sigma * this.spare
    }
    const u = 1 - this.next()
    const v = this.next()
    const r = Math.sqrt(-2 * Math.log(u))
    this.spare = r * Math.sin(2 * Math.PI * v)
    this.hasSpare = true
    return mean + sigma * r * Math.cos(2 * Math.PI * v)
  }

  pick<A>(items: ReadonlyArray<A>): A {
    if (items.length === 0) throw new Error("Prng.pick: no items")
    return items[Math.floor(this.next() * items.length)]!
  }

  /** One item, with probability proportional to its weight. */
  weighted<A>(items: ReadonlyArray<A>, weight: (a: A) => number): A {
    const total = items.reduce((s, a) => s + weight(a), 0)
    let x = this.next() * total
    for (const a of items) {
      x -= weight(a)
      if (x < 0) return a
    }
    return this.pick(items)
  }
}
