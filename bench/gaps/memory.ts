// Memory: RSS and heap sampled every 20 ms (the event loop is idle while PostgreSQL works), with
// a peak per phase and one for the whole size.

export const memory = {
  peakRss: 0,
  peakHeap: 0,
  phaseRss: 0,
  sample(): void {
    const m = process.memoryUsage()
    if (m.rss > this.peakRss) this.peakRss = m.rss
    if (m.heapUsed > this.peakHeap) this.peakHeap = m.heapUsed
    if (m.rss > this.phaseRss) this.phaseRss = m.rss
  },
  startPhase(): void {
    this.phaseRss = 0
    this.sample()
  },
  endPhase(): number {
    this.sample()
    return this.phaseRss
  }
}
