import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {parseGpuList} from '../../src/cloud/accelerators.js'
import {makePlan, type PlanInputs, type PriceSources, renderPlan, requirePrices} from '../../src/cloud/plan.js'
import {offeringsFromGpusList, offeringsFromReference, parseGivenPrices} from '../../src/cloud/prices.js'
import {cloudLabels} from '../../src/cloud/result-annotation.js'
import {remoteRunCommand} from '../../src/cloud/session.js'
import {checkModelForEngine, parseCloudModel, serveCommand, serverSlots, servingEngine} from '../../src/cloud/serving.js'
import {instanceTypeFrom, jobIdFrom, requestIdFrom, skyReason} from '../../src/cloud/sky.js'
import {buildTask, renderTaskYaml, type TaskInputs} from '../../src/cloud/task-file.js'
import {loadGpuRentalPrices} from '../../src/cost/rented-gpu.js'
import {UserError} from '../../src/errors/errors.js'
import {defaultContextSize} from '../../src/runner/benchmark.js'
import {loadSuite} from '../../src/suite/load.js'
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
  slots: {slots: 1, contextPerSlot: 1024, reason: 'test'},
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
    slots: {slots: 1, contextPerSlot: 1024, reason: 'test'},
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
    const one = {slots: 1, contextPerSlot: 1024, reason: 'test'}
    expect(serveCommand(llama, parseCloudModel('hf:org/repo-GGUF:Q4_K_M'), 'org/repo-GGUF:Q4_K_M', one)).toContain('-hf org/repo-GGUF:Q4_K_M')
    expect(serveCommand(llama, parseCloudModel('synthetic:tiny'), 'm', one, 'm.gguf')).toContain('-m ~/.owbench/model/m.gguf')
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
    expect(plan.machines.map((m) => [m.cluster, m.offering?.instanceType])).toEqual([
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

  it('plans on the asked cloud only; an unpriced GPU stays in the plan with its reason, and --max-cost or a launch refuses it', async () => {
    const plan = await makePlan(planInputs({infra: 'aws'}), {...sources, referenceRows: async () => []})
    expect(plan.machines[0]!.offering).toBeNull()
    // The fake `sky gpus list` above lists Lambda's H100s whatever --infra says; none is on aws.
    expect(plan.machines[0]!.missingPrice).toBe('no price known for H100:1: none of its 2 priced offerings are on aws')
    expect(plan.boundUsd).toBe(0)
    const refused = thrownUserError(() => requirePrices(plan))
    expect(refused.message).toMatch(/no price known for H100:1: .*; owbench launches nothing it cannot price$/)
    expect(refused.hint).toBe('pass --price-per-hour USD (for GPUs with no known price) or --price-per-hour H100:1=USD, or drop H100:1 from --gpu')
    const capped = await rejectedUserError(makePlan(planInputs({infra: 'aws', maxCostUsd: 5}), {...sources, referenceRows: async () => []}))
    expect(capped.message).toMatch(/no price known for H100:1: .*; --max-cost \$5\.00 cannot be checked$/)
    const given = await makePlan(planInputs({infra: 'k8s', prices: parseGivenPrices('1.25')}), {...sources, referenceRows: async () => []})
    expect([given.machines[0]!.offering?.usdPerHour, given.machines[0]!.offering?.origin]).toEqual([1.25, 'given'])
    expect(given.machines[0]!.offering?.source).toBe('given (--price-per-hour; no catalog or reference price for H100:1: none of its 2 priced offerings are on k8s)')
  })

  it('a plain --price-per-hour is the last resort: a GPU the catalog or the reference data prices keeps that price', async () => {
    const noSky: PriceSources = {...sources, sky: null}
    const plan = await makePlan(planInputs({gpus: parseGpuList('H100:1,L40S:1'), prices: parseGivenPrices('1.5'), maxCostUsd: 5}), noSky)
    // H100:1 from data/gpu-rental-prices.csv line 8 (Lambda 2.86), L40S:1 (no row) at the given 1.50.
    expect(plan.machines.map((m) => [m.gpu.spec, m.offering?.usdPerHour, m.offering?.origin])).toEqual([['H100:1', 2.86, 'owbench-reference'], ['L40S:1', 1.5, 'given']])
    // (2.86 + 1.50) USD/h x 1 h = 4.36, within --max-cost 5; with the H100 at 1.50 it would have been 3.00.
    expect(plan.boundUsd).toBeCloseTo(4.36, 10)
    const over = await rejectedUserError(makePlan(planInputs({gpus: parseGpuList('H100:1,L40S:1'), prices: parseGivenPrices('1.5'), maxCostUsd: 4}), noSky))
    expect(over.message).toBe('the plan may cost up to $4.36 ($4.36/h for 60 min), above --max-cost $4.00')
  })

  it('--price-per-hour GPU=USD forces a negotiated rate over the catalog, and names what it replaced', async () => {
    const plan = await makePlan(planInputs({gpus: parseGpuList('H100:1,A6000:1'), prices: parseGivenPrices('h100=2.10')}), sources)
    const [h100, a6000] = plan.machines
    expect([h100!.offering?.usdPerHour, h100!.offering?.origin, h100!.offering?.instanceType]).toEqual([2.1, 'forced', 'gpu_1x_h100_pcie'])
    expect(h100!.offering?.source).toBe('forced (--price-per-hour H100:1=2.1, instead of $3.29 from SkyPilot catalog (sky gpus list): lambda/vms.csv, pulled 2026-11-20)')
    expect([a6000!.offering?.usdPerHour, a6000!.offering?.origin]).toEqual([1.09, 'skypilot-catalog'])
    // (2.10 + 1.09) USD/h x 1 h.
    expect(plan.boundUsd).toBeCloseTo(3.19, 10)
    const stray = await rejectedUserError(makePlan(planInputs({prices: parseGivenPrices('L40S:1=1')}), sources))
    expect(stray.message).toBe('--price-per-hour prices l40s:1, which --gpu does not ask for')
  })

  it('parses --price-per-hour and refuses what is not a price', () => {
    expect(parseGivenPrices('$1.5,H100:2=20,L40S=0.9')).toEqual({fallback: 1.5, forced: {'h100:2': 20, 'l40s:1': 0.9}})
    expect(thrownUserError(() => parseGivenPrices('1,2')).message).toMatch(/two prices for GPUs with no known price/)
    expect(thrownUserError(() => parseGivenPrices('H100=0')).message).toMatch(/"H100=0" is not USD or GPU\[:COUNT\]=USD/)
    expect(thrownUserError(() => parseGivenPrices('H100:1=1,h100=2')).message).toMatch(/prices H100:1 twice|prices h100:1 twice/)
  })

  it('asks `sky` once per plan when SkyPilot is not installed, and says so once', async () => {
    let calls = 0
    const messages: string[] = []
    const missing = {gpusList: async () => {
      calls++
      throw new UserError('SkyPilot\'s `sky` command is not installed', 'install it')
    }} as unknown as PriceSources['sky']
    const plan = await makePlan(planInputs({gpus: parseGpuList('H100:1,A6000:1,A100-80GB:1')}), {...sources, sky: missing, log: (m) => messages.push(m)})
    expect(calls).toBe(1)
    expect(messages).toEqual(['prices: SkyPilot is not installed; using owbench\'s reference data (data/gpu-rental-prices.csv)'])
    // data/gpu-rental-prices.csv: H100 line 8 (2.86), A6000 line 5 (0.80), A100-80GB line 12 (RunPod 1.64).
    expect(plan.machines.map((m) => m.offering?.usdPerHour)).toEqual([2.86, 0.8, 1.64])
  })

  it('renders an unpriced row as unknown with its reason, and the total as a lower bound', async () => {
    const plan = await makePlan(planInputs({gpus: parseGpuList('H100:1,L40S:1'), maxDurationMin: 30}), {...sources, sky: null})
    const text = renderPlan(plan, {model: 'hf:a/b', engine: servingEngine('vllm'), suite: 'quick'})
    expect(text).toContain('| owbench-l40sx1-abc123 | L40S:1 | - | - | - | unknown | no price known for L40S:1: SkyPilot is not installed; data/gpu-rental-prices.csv has no L40S:1 row |')
    // 2.86 USD/h x 0.5 h = 1.43 for the H100 alone.
    expect(text).toContain('estimate: unknown: no price for L40S:1; the priced machines alone may cost up to $1.43 (1 machine x 30 min at the planned prices), a lower bound for the run.')
    expect(text).not.toContain('at most')
  })
})

describe('llama-server slots', () => {
  it('gives -np the highest level in flight and -c slots x the context owbench sizes per request, with --metrics', async () => {
    const {suite} = await loadSuite('quick')
    const perRequest = defaultContextSize(suite)
    expect(serverSlots('1,8', suite)).toMatchObject({slots: 8, contextPerSlot: perRequest})
    expect(serverSlots('sweep', suite).slots).toBe(256)
    expect(serverSlots(undefined, {...suite, tests: [{...suite.tests[0]!, concurrency: [2, 6]}, {...suite.tests[0]!, concurrency: {sweep: {maxLevel: 32}}}]}).slots).toBe(32)
    expect(serverSlots(undefined, {...suite, tests: [{...suite.tests[0]!, concurrency: undefined}]}).slots).toBe(1)
    const run = serveCommand(servingEngine('llama-server'), parseCloudModel('hf:org/repo-GGUF:Q4_K_M'), 'n', serverSlots('1,8', suite))
    expect(run).toContain(`-np 8 -c ${8 * perRequest} --metrics`)
    // vLLM serves /metrics by default and batches up to --max-num-seqs: no slot flags.
    expect(serveCommand(servingEngine('vllm'), parseCloudModel('hf:org/repo'), 'n', serverSlots('1,8', suite))).not.toMatch(/-np|--metrics|max-num-seqs/)
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
    const plan = requirePrices(await makePlan(planInputs({gpus: parseGpuList('H100:1,MI300X:1'), prices: parseGivenPrices('2')}), sources))
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
