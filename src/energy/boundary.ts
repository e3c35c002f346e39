import type {Boundary, Method, SourceInfo, SourceKind} from '../power/power-source.js'

/**
 * Which series may be added, and under which boundary label. Rules:
 * - a series marked `part` (RAPL core/uncore, Apple ANE) is inside another one: never added;
 * - wall, facility and soc cover the whole machine (or SoC): one series each, never added to
 *   anything, never summed with a second meter of the same kind (two plugs may meter the same socket);
 * - gpu-board, cpu-package and dram do not overlap each other: they are summed over their devices
 *   (GPU 0 + GPU 1, package-0 + package-1), and across the three into a combined boundary named
 *   after its parts ('cpu-package+gpu-board', 'cpu-package+gpu-board+dram');
 * - within one boundary, meters of different families are alternatives, not addends (RAPL and the
 *   TDP estimate both cover the CPU): the best method wins (counter > sampled > estimated), except
 *   that NVIDIA and AMD GPUs are different boards and add up.
 * The widest boundary first: facility > wall > soc > cpu-package+gpu-board+dram (the parts present) > cpu-package >
 * gpu-board > dram.
 */
export interface BoundaryGroup {
  /** A Boundary, or a combined label such as 'cpu-package+gpu-board'. */
  boundary: string
  sourceIds: string[]
  /** The weakest method among the series: a figure with any estimate in it is an estimate. */
  method: Method
  /** Series left out because another meter covers the same thing better. */
  alternatives: string[]
}

const WHOLE: readonly Boundary[] = ['facility', 'wall', 'soc']
const PARTS: readonly Boundary[] = ['cpu-package', 'gpu-board', 'dram']
const METHOD_RANK: Record<Method, number> = {counter: 0, sampled: 1, estimated: 2}

function family(kind: SourceKind): string {
  switch (kind) {
    case 'amd-smi':
    case 'rocm-smi':
      return 'amd'
    case 'nvidia-smi':
    case 'nvml':
      return 'nvidia'
    default:
      return kind
  }
}

export function weakestMethod(methods: readonly Method[]): Method {
  return methods.reduce<Method>((worst, m) => (METHOD_RANK[m] > METHOD_RANK[worst] ? m : worst), 'counter')
}

/** The series that stand for one boundary, or undefined when none does. */
function pickBoundary(sources: readonly SourceInfo[], boundary: Boundary): BoundaryGroup | undefined {
  const candidates = sources.filter((s) => s.boundary === boundary && !s.part)
  if (candidates.length === 0) return undefined
  const byFamily = new Map<string, SourceInfo[]>()
  for (const s of candidates) byFamily.set(family(s.kind), [...(byFamily.get(family(s.kind)) ?? []), s])
  const rankFamily = (list: SourceInfo[]) => Math.max(...list.map((s) => METHOD_RANK[s.method]))
  const families = [...byFamily.entries()].sort(([fa, a], [fb, b]) => rankFamily(a) - rankFamily(b) || b.length - a.length || fa.localeCompare(fb))
  let chosen: SourceInfo[]
  if (WHOLE.includes(boundary)) {
    const best = [...candidates].sort((a, b) => METHOD_RANK[a.method] - METHOD_RANK[b.method] || a.id.localeCompare(b.id))[0]!
    chosen = [best]
  } else if (boundary === 'gpu-board') {
    // NVIDIA and AMD boards are different hardware; any other family is an alternative view.
    const vendors = families.filter(([f]) => f === 'nvidia' || f === 'amd')
    chosen = vendors.length > 0 ? vendors.flatMap(([, list]) => oneSeriesPerDevice(list)) : oneSeriesPerDevice(families[0]![1])
  } else {
    chosen = oneSeriesPerDevice(families[0]![1])
  }
  const ids = new Set(chosen.map((s) => s.id))
  return {
    boundary,
    sourceIds: chosen.map((s) => s.id),
    method: weakestMethod(chosen.map((s) => s.method)),
    alternatives: candidates.filter((s) => !ids.has(s.id)).map((s) => s.id),
  }
}

/** Within one family, two series of the same device are the same thing: keep the better one. */
function oneSeriesPerDevice(list: readonly SourceInfo[]): SourceInfo[] {
  const byDevice = new Map<string, SourceInfo>()
  for (const s of list) {
    const key = s.device ?? s.id
    const held = byDevice.get(key)
    if (!held || METHOD_RANK[s.method] < METHOD_RANK[held.method]) byDevice.set(key, s)
  }
  return [...byDevice.values()]
}

/** Every boundary the sources can report, widest first. */
export function boundaryGroups(sources: readonly SourceInfo[]): BoundaryGroup[] {
  const out: BoundaryGroup[] = []
  for (const boundary of WHOLE) {
    const group = pickBoundary(sources, boundary)
    if (group) out.push(group)
  }
  const parts = PARTS.map((b) => pickBoundary(sources, b)).filter((g): g is BoundaryGroup => g !== undefined)
  // All the parts present, added: the widest boundary short of a whole-machine meter.
  if (parts.length >= 2) {
    out.push({
      boundary: parts.map((g) => g.boundary).join('+'),
      sourceIds: parts.flatMap((g) => g.sourceIds),
      method: weakestMethod(parts.map((g) => g.method)),
      alternatives: parts.flatMap((g) => g.alternatives),
    })
  }
  out.push(...parts)
  return out
}
