import {z} from 'zod'
import {UserError} from '../errors/errors.js'

const finite = z.number().refine(Number.isFinite, 'must be a finite number')

/** One printed assumption: every input of an estimate is shown, never hidden in a constant. */
export const AssumptionSchema = z.strictObject({name: z.string(), value: finite, unit: z.string(), note: z.string()})

/** What was measured at the endpoint for one (typical) request. */
export const HostedRequestSchema = z.strictObject({
  outputTokens: finite,
  /** Decode rate of one request, output tokens/s (1 / TPOT); absent when one token was generated. */
  outputTokensPerSecond: finite.optional(),
  /** Time to first token, s: the node is held while the prompt is processed too. */
  ttftSeconds: finite,
})

export const HostedEnergyCaseSchema = z.strictObject({
  /** GPU x U_gpu + non-GPU x U_non-GPU, kW: the request's share of the node. */
  itPowerKw: finite,
  /** itPowerKw x PUE. */
  facilityPowerKw: finite,
  whPerRequest: finite,
  joulesPerOutputToken: finite,
})

/** The hosted energy of one request, low and high, with its formula and every assumption. */
export const HostedEnergyEstimateSchema = z.strictObject({
  method: z.literal('estimated'),
  boundary: z.literal('facility'),
  model: z.string(),
  source: z.string(),
  formula: z.string(),
  assumptions: z.array(AssumptionSchema),
  request: HostedRequestSchema,
  secondsPerRequest: finite,
  low: HostedEnergyCaseSchema,
  high: HostedEnergyCaseSchema,
})

export type Assumption = z.infer<typeof AssumptionSchema>
export type HostedRequest = z.infer<typeof HostedRequestSchema>
export type HostedEnergyCase = z.infer<typeof HostedEnergyCaseSchema>
export type HostedEnergyEstimate = z.infer<typeof HostedEnergyEstimateSchema>


/**
 * The infrastructure model of Jegham et al. 2025, "How Hungry is AI?" (arXiv 2505.09598): a
 * request holds a share of a node for its duration, and the node's GPU and non-GPU power, scaled
 * by utilization and PUE, is charged to it.
 */
export interface HostedNodeModel {
  name: string
  source: string
  /** Maximum power of the node's GPUs, kW. */
  gpuPowerKw: number
  /** Maximum power of everything else in the node (CPUs, memory, network), kW. */
  nonGpuPowerKw: number
  gpusPerNode: number
  /** GPUs serving the model. */
  gpusAssigned: number
  /** Requests served at once: each holds 1/batch of the assigned GPUs. */
  batchSize: number
  /** Share of maximum GPU power drawn while serving. */
  gpuUtilization: {low: number; high: number}
  nonGpuUtilization: number
  pue: {low: number; high: number}
}

/**
 * The paper's figures for a large model on an 8-GPU H100 node, as restated with a worked GPT-4o
 * example in ScottLogic/OpenInferESG Methodology.md (commit 7b5429f4), which reproduces the
 * paper's 1.788 Wh for a long GPT-4o query. PUE is Azure's 1.12 in both cases; pass a wider range
 * (industry average about 1.55-1.58, Uptime Institute) for a host of unknown efficiency.
 */
export const HOW_HUNGRY_LARGE_H100: HostedNodeModel = {
  name: 'How Hungry is AI? (Jegham et al. 2025), large model on a DGX H100/H200 node',
  source: 'arXiv 2505.09598, as restated in ScottLogic/OpenInferESG Methodology.md @7b5429f4',
  gpuPowerKw: 10.2,
  nonGpuPowerKw: 1.6,
  gpusPerNode: 8,
  gpusAssigned: 8,
  batchSize: 8,
  gpuUtilization: {low: 0.055, high: 0.075},
  nonGpuUtilization: 0.5,
  pue: {low: 1.12, high: 1.12},
}


/**
 * E (kWh) = (output / TPS + TTFT) / 3600 x [P_gpu x U_gpu + P_non-gpu x U_non-gpu] x PUE, with
 * U = G x D / (N x B). Low pairs the low GPU utilization with the low PUE, high the high ones.
 * A request that generated one token (a pp test) holds the node for its TTFT alone.
 */
export function estimateHostedEnergy(request: HostedRequest, node: HostedNodeModel = HOW_HUNGRY_LARGE_H100): HostedEnergyEstimate {
  const decoding = request.outputTokens > 1
  if (!(request.outputTokens > 0) || (decoding && !((request.outputTokensPerSecond ?? 0) > 0)) || !(request.ttftSeconds >= 0)) {
    throw new UserError('a hosted energy estimate needs output tokens > 0, a decode rate > 0 when more than one token was generated, and a TTFT >= 0', 'pass what the endpoint measured')
  }
  for (const [what, value] of [['GPU power', node.gpuPowerKw], ['non-GPU power', node.nonGpuPowerKw], ['GPUs per node', node.gpusPerNode], ['GPUs assigned', node.gpusAssigned], ['batch size', node.batchSize], ['PUE low', node.pue.low], ['PUE high', node.pue.high]] as const) {
    if (!(value > 0) || !Number.isFinite(value)) throw new UserError(`hosted node model: ${what} must be positive, not ${value}`, 'fix the assumption')
  }
  if (node.pue.low < 1 || node.pue.high < node.pue.low) throw new UserError(`hosted node model: PUE must be at least 1 with low <= high, not ${node.pue.low}-${node.pue.high}`, 'fix the assumption')
  if (node.gpuUtilization.low < 0 || node.gpuUtilization.high > 1 || node.gpuUtilization.high < node.gpuUtilization.low) {
    throw new UserError(`hosted node model: GPU utilization must be between 0 and 1 with low <= high, not ${node.gpuUtilization.low}-${node.gpuUtilization.high}`, 'fix the assumption')
  }
  const share = node.gpusAssigned / (node.gpusPerNode * node.batchSize)
  const seconds = (decoding ? request.outputTokens / request.outputTokensPerSecond! : 0) + request.ttftSeconds
  const one = (gpuUtilization: number, pue: number): HostedEnergyCase => {
    const itPowerKw = node.gpuPowerKw * share * gpuUtilization + node.nonGpuPowerKw * share * node.nonGpuUtilization
    const facilityPowerKw = itPowerKw * pue
    const whPerRequest = facilityPowerKw * 1000 * (seconds / 3600)
    return {itPowerKw, facilityPowerKw, whPerRequest, joulesPerOutputToken: (whPerRequest * 3600) / request.outputTokens}
  }
  return {
    method: 'estimated',
    boundary: 'facility',
    model: node.name,
    source: node.source,
    formula: 'Wh = (output tokens / TPS + TTFT) / 3600 x [P_gpu x G x D_gpu / (N x B) + P_non-gpu x G x D_non-gpu / (N x B)] x PUE x 1000',
    assumptions: [
      {name: 'P_gpu', value: node.gpuPowerKw, unit: 'kW', note: 'maximum GPU power of the node'},
      {name: 'P_non-gpu', value: node.nonGpuPowerKw, unit: 'kW', note: 'maximum power of the rest of the node'},
      {name: 'N', value: node.gpusPerNode, unit: 'GPUs', note: 'GPUs per node'},
      {name: 'G', value: node.gpusAssigned, unit: 'GPUs', note: 'GPUs serving the model'},
      {name: 'B', value: node.batchSize, unit: 'requests', note: 'requests sharing those GPUs at once'},
      {name: 'D_gpu low', value: node.gpuUtilization.low, unit: 'share', note: 'GPU power drawn, low case'},
      {name: 'D_gpu high', value: node.gpuUtilization.high, unit: 'share', note: 'GPU power drawn, high case'},
      {name: 'D_non-gpu', value: node.nonGpuUtilization, unit: 'share', note: 'non-GPU power drawn'},
      {name: 'PUE low', value: node.pue.low, unit: 'ratio', note: 'facility overhead, low case'},
      {name: 'PUE high', value: node.pue.high, unit: 'ratio', note: 'facility overhead, high case'},
      {name: 'output tokens', value: request.outputTokens, unit: 'tokens', note: 'measured'},
      ...(decoding ? [{name: 'TPS', value: request.outputTokensPerSecond!, unit: 'tokens/s', note: 'measured decode rate of one request'}] : []),
      {name: 'TTFT', value: request.ttftSeconds, unit: 's', note: 'measured'},
    ],
    request,
    secondsPerRequest: seconds,
    low: one(node.gpuUtilization.low, node.pue.low),
    high: one(node.gpuUtilization.high, node.pue.high),
  }
}

