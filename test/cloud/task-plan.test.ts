import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {parseGpuList} from '../../src/cloud/accelerators.js'
import {makePlan, type PlanInputs, type PriceSources} from '../../src/cloud/plan.js'
import {offeringsFromGpusList, offeringsFromReference} from '../../src/cloud/prices.js'
import {cloudLabels} from '../../src/cloud/result-annotation.js'
import {remoteRunCommand} from '../../src/cloud/session.js'
import {checkModelForEngine, parseCloudModel, serveCommand, servingEngine} from '../../src/cloud/serving.js'
import {instanceTypeFrom, jobIdFrom, requestIdFrom, skyReason} from '../../src/cloud/sky.js'
import {buildTask, renderTaskYaml, type TaskInputs} from '../../src/cloud/task-file.js'
import {loadGpuRentalPrices} from '../../src/cost/rented-gpu.js'
import {pythonPatternToJs, skypilotTaskErrors} from '../helpers/sky-standin/skypilot-schema.mjs'
import {rejectedUserError, thrownUserError} from '../helpers/user-error.js'

const base: TaskInputs = {
  cluster: 'owbench-h100x1-abc123',
  gpu: parseGpuList('H100:1')[0]!,
  engine: servingEngine('vllm'),
  model: parseCloudModel('hf:Qwen/Qwen2.5-7B-Instruct'),
  servedName: 'Qwen/Qwen2.5-7B-Instruct',
  owbenchTarball: '/tmp/out/owbench-0.1.0.tgz',
  owbenchVersion: '0.1.0',
  nodeVersion: '20.20.2',
  diskGb: 256,
  autodownMinutes: 70,
  extraSecrets: [],
}

/** `sky gpus list H100:1 --all-regions -o json` for the fixture catalog rows (fixtures/skypilot/catalogs). */
const gpusList = {
  H100: [
    {cloud: 'Lambda', instance_type: 'gpu_1x_h100_pcie', accelerator_name: 'H100', accelerator_count: 1, cpu_count: 26, device_memory: 80, memory: 200, price: 3.29, spot_price: null, region: 'us-east-1'},
    {cloud: 'Lambda', instance_type: 'gpu_1x_h100_sxm5', accelerator_name: 'H100', accelerator_count: 1, cpu_count: 26, device_memory: 80, memory: 225, price: 4.29, spot_price: null, region: 'us-east-1'},
    {cloud: 'Lambda', instance_type: 'gpu_8x_h100_sxm5', accelerator_name: 'H100', accelerator_count: 8, cpu_count: 208, device_memory: 80, memory: 1800, price: 31.92, spot_price: null, region: 'us-east-1'},
  ],
  'H100-MEGA': [{cloud: 'GCP', instance_type: 'a3-megagpu-8g', accelerator_name: 'H100-MEGA', accelerator_count: 1, cpu_count: 1, device_memory: 80, memory: 1, price: 1.5, spot_price: null, region: 'us-central1'}],
  A6000: [{cloud: 'Lambda', instance_type: 'gpu_1x_a6000', accelerator_name: 'A6000', accelerator_count: 1, cpu_count: 14, device_memory: 48, memory: 100, price: 1.09, spot_price: null, region: 'us-east-1'}],
}

const sources: PriceSources = {
  sky: {gpusList: async () => ({code: 0, signal: null, stdout: JSON.stringify(gpusList), stderr: ''})} as unknown as PriceSources['sky'],
  referenceRows: loadGpuRentalPrices,
  catalogDate: (cloud) => (cloud === 'lambda' ? '2026-11-20' : null),
}

function planInputs(overrides: Partial<PlanInputs> = {}): PlanInputs {
  return {
    gpus: parseGpuList('H100:1'),
    model: parseCloudModel('hf:Qwen/Qwen2.5-7B-Instruct'),
    engine: servingEngine('vllm'),
    suite: 'quick',
    maxDurationMin: 60,
    diskGb: 256,
    outDir: '/tmp/out',
    runId: 'abc123',
    owbenchTarball: '/tmp/out/owbench-0.1.0.tgz',
    owbenchVersion: '0.1.0',
    nodeVersion: '20.20.2',
    extraSecrets: [],
    ...overrides,
  }
}

describe('SkyPilot task files', () => {
  it('validate against SkyPilot\'s own task and resources schemas for every engine, model kind and infra', () => {
    const variants: TaskInputs[] = [
      base,
      {...base, infra: 'aws', extraSecrets: ['HF_TOKEN']},
      {...base, infra: 'gcp/us-central1', gpu: parseGpuList('A100-80GB:8')[0]!},
      {...base, infra: 'k8s', engine: servingEngine('llama-server'), model: parseCloudModel('hf:bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M'), servedName: 'bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M'},
      {...base, engine: servingEngine('llama-server'), model: parseCloudModel('synthetic:tiny'), upload: {localPath: '/cache/m.gguf', fileName: 'm.gguf'}, suiteFile: '/tmp/suite.json', servedName: 'm'},
    ]
    for (const input of variants) {
      const yaml = renderTaskYaml(buildTask(input))
      expect(skypilotTaskErrors(parse(yaml)), yaml).toEqual([])
    }
  })

  it('the schema check fails on what SkyPilot would refuse (so passing means something)', () => {
    const task = parse(renderTaskYaml(buildTask(base))) as Record<string, Record<string, unknown>>
    expect(skypilotTaskErrors({...task, resources: {...task.resources, acelerators: 'H100:1'}}).join()).toMatch(/additional properties/)
    expect(skypilotTaskErrors({...task, resources: {...task.resources, infra: 'awz'}}).join()).toMatch(/must match pattern/)
    expect(skypilotTaskErrors({...task, resources: {...task.resources, autostop: {idle_minutes: 70, down: true, wait_for: 'never'}}}).length).toBeGreaterThan(0)
    expect(skypilotTaskErrors({...task, envs: {'BAD-NAME': 'x'}}).length).toBeGreaterThan(0)
    // SkyPilot's infra pattern is case-insensitive for cloud names: AWS is accepted like aws.
    expect(skypilotTaskErrors({...task, resources: {...task.resources, infra: 'AWS/us-east-1'}})).toEqual([])
  })

  it('rewrites Python inline case-insensitive groups into JavaScript', () => {
    const js = new RegExp(pythonPatternToJs('^(?:(?i:(aws|gcp))(?:/[^/]+)?|(?i:kubernetes|k8s)(?:/.+)?)$'))
    expect(['aws', 'AWS/us-east-1', 'Gcp', 'K8S/ctx/with/slashes'].every((s) => js.test(s))).toBe(true)
    expect(['awz', 'azure', '/aws'].some((s) => js.test(s))).toBe(false)
  })

  it('a hard autodown, the per-run key as a secret never in the file, and the official image', () => {
    const task = buildTask({...base, autodownMinutes: 70})
    expect(task.resources.autostop).toEqual({idle_minutes: 70, down: true, wait_for: 'none'})
    expect(task.secrets).toEqual({OWBENCH_API_KEY: null})
    expect(task.resources.image_id).toBe('docker:vllm/vllm-openai:latest')
    expect(task.resources.ports).toEqual([8000])
    expect(task.run).toContain('--api-key "$OWBENCH_API_KEY"')
  })

  it('serves GGUF repositories and uploaded files with llama-server, and refuses what vLLM cannot serve', () => {
    const llama = servingEngine('llama-server')
    expect(serveCommand(llama, parseCloudModel('hf:org/repo-GGUF:Q4_K_M'), 'org/repo-GGUF:Q4_K_M')).toContain('-hf org/repo-GGUF:Q4_K_M')
    expect(serveCommand(llama, parseCloudModel('synthetic:tiny'), 'm', 'm.gguf')).toContain('-m ~/.owbench/model/m.gguf')
    expect(thrownUserError(() => checkModelForEngine(parseCloudModel('hf:org/repo:Q4_K_M'), servingEngine('vllm'))).message).toMatch(/GGUF quantization/)
    expect(thrownUserError(() => checkModelForEngine(parseCloudModel('synthetic:tiny'), servingEngine('vllm'))).hint).toMatch(/llama-server/)
    expect(thrownUserError(() => parseCloudModel('hf:noslash')).message).toMatch(/not hf:org\/repo/)
    expect(thrownUserError(() => servingEngine('tgi')).hint).toBe('use vllm or llama-server')
  })

  it('parses fleets and refuses malformed or repeated GPUs', () => {
    expect(parseGpuList('H100:1, A100-80GB:1,L40S').map((g) => g.spec)).toEqual(['H100:1', 'A100-80GB:1', 'L40S:1'])
    expect(thrownUserError(() => parseGpuList('H100:0')).message).toMatch(/0 GPUs/)
    expect(thrownUserError(() => parseGpuList('H100:1,h100:1')).message).toMatch(/twice/)
    expect(thrownUserError(() => parseGpuList('8xH100')).message).toMatch(/NAME\[:COUNT\]/)
  })
})

describe('prices and the plan', () => {
  it('keeps exactly the GPU and count asked for from `sky gpus list`, cheapest first, with the catalog date', () => {
    const offerings = offeringsFromGpusList(gpusList, parseGpuList('H100:1')[0]!, sources.catalogDate)
    expect(offerings.map((o) => [o.instanceType, o.usdPerHour])).toEqual([['gpu_1x_h100_pcie', 3.29], ['gpu_1x_h100_sxm5', 4.29]])
    expect(offerings[0]!.catalogDate).toBe('2026-11-20')
    expect(offerings[0]!.source).toBe('SkyPilot catalog (sky gpus list): lambda/vms.csv, pulled 2026-11-20')
  })

  it('falls back to data/gpu-rental-prices.csv: the dated Lambda row wins over the undated catalog row', async () => {
    const offerings = offeringsFromReference(await loadGpuRentalPrices(), parseGpuList('H100:1')[0]!)
    // Lambda H100 80GB PCIe: 2.86 dated 2026-05-07 (line 8) beats the catalog's undated 2.49 (whose
    // instance type it keeps); the SXM5 catalog row (3.29) is marked superseded by the 3.78 SXM row.
    expect(offerings.map((o) => [o.cloud, o.instanceType, o.usdPerHour, o.catalogDate])).toEqual([
      ['Lambda', 'gpu_1x_h100_pcie', 2.86, '2026-05'],
      ['Lambda', '1x H100 SXM', 3.78, '2026-05'],
    ])
  })

  it('bounds the run by the planned prices x --max-duration and refuses a plan above --max-cost', async () => {
    const plan = await makePlan(planInputs({gpus: parseGpuList('H100:1,A6000:1'), maxDurationMin: 90}), sources)
    expect(plan.machines.map((m) => [m.cluster, m.offering.instanceType])).toEqual([
      ['owbench-h100x1-abc123', 'gpu_1x_h100_pcie'],
      ['owbench-a6000x1-abc123', 'gpu_1x_a6000'],
    ])
    // (3.29 + 1.09) USD/h x 1.5 h = 6.57 USD; autodown 90 + 10 min.
    expect(plan.boundUsd).toBeCloseTo(6.57, 10)
    expect(plan.autodownMinutes).toBe(100)
    const refused = await rejectedUserError(makePlan(planInputs({gpus: parseGpuList('H100:1,A6000:1'), maxDurationMin: 90, maxCostUsd: 5}), sources))
    expect(refused.message).toBe('the plan may cost up to $6.57 ($4.38/h for 90 min), above --max-cost $5.00')
    // 5 / 4.38 h = 68.49 min.
    expect(refused.hint).toBe('lower --max-duration to 68 min or less, raise --max-cost, or rent fewer machines')
  })

  it('plans on the asked cloud only, and says when nothing is priced', async () => {
    const none = await rejectedUserError(makePlan(planInputs({infra: 'aws'}), {...sources, referenceRows: async () => []}))
    expect(none.message).toBe('no price known for H100:1 on aws')
    const given = await makePlan(planInputs({infra: 'k8s', pricePerHour: 1.25}), {...sources, referenceRows: async () => []})
    expect([given.machines[0]!.offering.usdPerHour, given.machines[0]!.offering.source]).toEqual([1.25, 'given (--price-per-hour)'])
  })
})

describe('reading sky\'s output', () => {
  it('finds the instance type, request id, job id and the reason of a failure', () => {
    expect(instanceTypeFrom("1x(gpus=H100:1, cpus=26, mem=200, gpu_1x_h100_pcie, image_id={'us-east-1': 'docker:x'}, disk=256, ports=['8080'])")).toBe('gpu_1x_h100_pcie')
    expect(instanceTypeFrom('-')).toBeNull()
    expect(requestIdFrom('└── To cancel the request, run: \u001b[1msky api cancel 3f2a91bc\u001b[0m')).toBe('3f2a91bc')
    expect(jobIdFrom('⚙︎ Job submitted, ID: 2\n')).toBe(2)
    expect(skyReason({stdout: 'Launching...\nsky.exceptions.ResourcesUnavailableError: Failed to provision all possible launchable resources.\nTo keep retrying', stderr: ''})).toBe(
      'sky.exceptions.ResourcesUnavailableError: Failed to provision all possible launchable resources.',
    )
  })
})

describe('the run on the machine and the labels', () => {
  it('measures the local server with the GPU meter scoped to it', async () => {
    const plan = await makePlan(planInputs({gpus: parseGpuList('H100:1,MI300X:1'), pricePerHour: 2}), sources)
    const command = (i: number) => remoteRunCommand({engine: servingEngine('vllm'), remoteSuite: '~/.owbench/suite.json', concurrency: '1,8', plan}, plan.machines[i]!)
    expect(command(0)).toBe(
      'export PATH="$HOME/.owbench/node/bin:$HOME/.owbench/bin:$PATH"; NODE_IP=$(echo "$SKYPILOT_NODE_IPS" | head -n1); owbench run --endpoint "http://$NODE_IP:8000/v1" --model-name Qwen/Qwen2.5-7B-Instruct --api-key-env OWBENCH_API_KEY --suite ~/.owbench/suite.json --concurrency 1,8 --meter nvidia --meter-on-server --out ~/owbench-cloud/server.json',
    )
    expect(command(1)).toContain('--meter amd-smi --meter-on-server')
  })

  it('says when the rental cost is missing and why', () => {
    const labels = cloudLabels({
      orchestrator: 'skypilot', cluster: 'owbench-h100x1-abc123', measuredFrom: 'client', accelerators: 'H100:1', gpu: 'H100', gpuCount: 1,
      cloud: 'Lambda', region: null, instanceType: 'gpu_1x_h100_pcie', engine: {name: 'vllm', image: 'vllm/vllm-openai:latest', version: null},
      price: {usdPerHour: 3.29, source: 'SkyPilot catalog', catalogDate: null},
      rental: {launchedAt: '2026-11-29T20:00:00.000Z', tornDownAt: null, seconds: null, usd: null, missingReason: 'teardown not confirmed: sky down: refused'},
    })
    expect(labels).toEqual([
      'rented GPU: H100:1 on Lambda gpu_1x_h100_pcie at $3.29/h (SkyPilot catalog); rental cost of this run missing: teardown not confirmed: sky down: refused',
      'measured from the client over the network to the rented machine\'s vllm: TTFT includes the network round trip; no meter on this side',
    ])
  })
})
