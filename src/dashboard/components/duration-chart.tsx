import { useEffect, useRef } from "preact/hooks"
import uPlot from "uplot"
import type { Run } from "../api-types.ts"
import { duration, runSeconds } from "../format.ts"

/*
 * The durations of a step's recent runs (finishedAt − createdAt) against when they finished,
 * as points coloured by outcome. uPlot draws; this only shapes its data.
 */

const outcomes = [
  { status: "COMPLETED", label: "completed", colour: "#1a7f37" },
  { status: "FAILED", label: "failed", colour: "#cf222e" },
  { status: "CANCELLED", label: "cancelled", colour: "#57606a" }
] as const

// Tick spacing in seconds a person counts in: 0.01 s … 30 s, 1 min … 30 min, 1 h … 12 h, days.
const durationSteps = [
  ...[0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
  ...[1, 2, 5, 10, 15, 30],
  ...[60, 120, 300, 600, 900, 1800],
  ...[3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600],
  ...[86400, 2 * 86400, 7 * 86400]
]

const chartData = (runs: ReadonlyArray<Run>): uPlot.AlignedData => {
  const finished = runs
    .flatMap((run) => {
      const seconds = runSeconds(run.createdAt, run.finishedAt)
      return seconds === null || run.finishedAt === null ? [] : [{ at: Date.parse(run.finishedAt) / 1000, seconds, status: run.status }]
    })
    .sort((a, b) => a.at - b.at)
  return [
    finished.map((point) => point.at),
    ...outcomes.map(({ status }) => finished.map((point) => (point.status === status ? point.seconds : null)))
  ]
}

const options = (width: number): uPlot.Options => ({
  width,
  height: 240,
  scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
  axes: [{}, { label: "duration", size: 80, incrs: durationSteps, values: (_u, ticks) => ticks.map((seconds) => duration(seconds)) }],
  series: [
    {},
    ...outcomes.map(({ label, colour }) => ({
      label,
      stroke: colour,
      fill: colour,
      paths: () => null,
      points: { show: true, size: 6, fill: colour, stroke: colour },
      value: (_u: uPlot, seconds: number | null) => (seconds === null ? "–" : duration(seconds))
    }))
  ]
})

export const DurationChart = ({ runs }: { readonly runs: ReadonlyArray<Run> }) => {
  const container = useRef<HTMLDivElement>(null)
  const chart = useRef<uPlot | null>(null)
  const data = chartData(runs)
  const points = data[0].length

  useEffect(() => {
    const element = container.current
    if (element === null) return
    const plot = new uPlot(options(Math.max(320, element.clientWidth)), [[]], element)
    chart.current = plot
    const resize = () => plot.setSize({ width: Math.max(320, element.clientWidth), height: 240 })
    window.addEventListener("resize", resize)
    return () => {
      window.removeEventListener("resize", resize)
      plot.destroy()
      chart.current = null
    }
  }, [])

  useEffect(() => {
    chart.current?.setData(data)
  })

  return (
    <div class="chart" data-testid="duration-chart" data-points={points}>
      <div ref={container} />
      {points === 0 ? <p class="muted">No finished run yet.</p> : null}
    </div>
  )
}
