import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {cloudRun, type CloudRunReport} from '../../cloud/cloud-run.js'
import {renderPlan, usd} from '../../cloud/plan.js'
import {SERVING_ENGINES} from '../../cloud/serving.js'
import {SKY_INSTALL_HINT, Sky} from '../../cloud/sky.js'
import {InterruptedError, UserError} from '../../errors/errors.js'

export default class CloudRun extends BaseCommand {
  static override summary = 'Rent GPUs through SkyPilot, serve a model, measure it on the machine and over the network, tear down.'

  static override description = `Writes a SkyPilot task per GPU (the engine's official image, the port, disk, and autodown as a hard limit), shows the plan with its hourly prices from SkyPilot's catalog and the most the run can cost, then launches every machine in parallel, waits for the server's health endpoint, runs owbench on the machine against its local server with the GPU meter (no WAN in TTFT; energy at the server), measures the same endpoint from here over the network, copies the results home and tears every machine down: on success, failure, --max-duration, --max-cost or Ctrl-C.
Needs SkyPilot (\`sky\`, with a cloud enabled by \`sky check\`); --dry-run needs neither credentials nor SkyPilot.`

  static override examples = [
    {description: 'The plan, the task file and the price, launching nothing', command: '<%= config.bin %> <%= command.id %> --dry-run --gpu H100:1 --model hf:Qwen/Qwen2.5-7B-Instruct --engine vllm'},
    {description: 'A negotiated rate for the H100 instead of the catalog\'s price', command: '<%= config.bin %> <%= command.id %> --dry-run --gpu H100:1 --model hf:Qwen/Qwen2.5-7B-Instruct --engine vllm --price-per-hour H100:1=2.10'},
    {description: 'One H100 on any enabled cloud, at most $5', command: '<%= config.bin %> <%= command.id %> --gpu H100:1 --model hf:Qwen/Qwen2.5-7B-Instruct --engine vllm --max-cost 5'},
    {description: 'A fleet of three GPUs, one results directory for owbench report/publish', command: '<%= config.bin %> <%= command.id %> --gpu H100:1,A100-80GB:1,A6000:1 --model hf:bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M --engine llama-server --concurrency 1,8'},
  ]

  static override flags = {
    gpu: Flags.string({summary: 'GPUs per machine, one machine per entry: H100:1 or H100:1,A100-80GB:1,A6000:1 (SkyPilot\'s names, see `sky gpus list`).', required: true}),
    model: Flags.string({char: 'm', summary: 'hf:org/repo[:quant] (downloaded on the machine), a local .gguf or synthetic:tiny|default (uploaded; llama-server).', required: true}),
    engine: Flags.string({summary: 'Serving engine, run from its official container image.', options: [...SERVING_ENGINES], required: true}),
    'engine-image': Flags.string({summary: 'Another image of the engine, e.g. vllm/vllm-openai:v0.11.0 (default: the official moving tag; the version served is recorded).'}),
    cloud: Flags.string({summary: 'SkyPilot infra to use: aws, gcp/us-central1, lambda, k8s ... (default: the cheapest of your enabled clouds).'}),
    suite: Flags.string({char: 's', summary: 'Built-in suite name or a suite .json file (uploaded to the machine).', default: 'quick'}),
    concurrency: Flags.string({summary: 'Requests in flight, one measured phase per level, e.g. 1,8,32.'}),
    'max-duration': Flags.string({summary: 'Minutes per machine from launch to teardown; SkyPilot\'s autodown backs it up 10 minutes later.', default: '60'}),
    'launch-timeout': Flags.string({summary: 'Minutes to wait for SkyPilot to provision and set up a machine.', default: '30'}),
    'max-cost': Flags.string({summary: 'USD: refuse a plan that may cost more, and tear everything down when the spend reaches it.'}),
    'price-per-hour': Flags.string({
      summary: 'USD per hour for a GPU nothing prices (1.5), or GPU=USD to replace a known price (H100:1=2.10, a negotiated rate); comma-separated.',
      description: 'Prices come from SkyPilot\'s catalog, else data/gpu-rental-prices.csv, else a plain --price-per-hour USD (Kubernetes, your own nodes). GPU[:COUNT]=USD forces that GPU\'s price whatever the catalog says.',
    }),
    disk: Flags.integer({summary: 'Disk per machine in GB (models are downloaded onto it).', default: 256, min: 10}),
    out: Flags.string({char: 'o', summary: 'Results directory (default: ./owbench-results/cloud-<time>-<id>/).'}),
    'dry-run': Flags.boolean({summary: 'Print the plan, the task files and the prices; launch nothing (no credentials needed).', default: false}),
  }

  public async run(): Promise<CloudRunReport> {
    const {flags} = await this.parse(CloudRun)
    const controller = new AbortController()
    let interrupts = 0
    const onSignal = () => {
      interrupts++
      if (interrupts === 1) this.logToStderr('\ninterrupted: stopping, copying what was measured and tearing every machine down (this continues if you press Ctrl-C again)')
      else this.logToStderr('still tearing down; owbench keeps running until every machine is down (SkyPilot\'s autodown is the backstop)')
      controller.abort()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    try {
      const report = await cloudRun(
        {
          gpu: flags.gpu,
          model: flags.model,
          engine: flags.engine,
          engineImage: flags['engine-image'],
          cloud: flags.cloud,
          suite: flags.suite,
          concurrency: flags.concurrency,
          maxDurationMin: minutes(flags['max-duration'], '--max-duration'),
          launchTimeoutMin: minutes(flags['launch-timeout'], '--launch-timeout'),
          maxCostUsd: amount(flags['max-cost'], '--max-cost'),
          pricePerHour: flags['price-per-hour'],
          diskGb: flags.disk,
          out: flags.out,
          dryRun: flags['dry-run'],
        },
        {
          sky: new Sky(undefined, `${SKY_INSTALL_HINT}; --dry-run needs neither`),
          signal: controller.signal,
          now: () => Date.now(),
          sleep: (ms, signal) =>
            new Promise((resolve, reject) => {
              const onAbort = () => {
                clearTimeout(timer)
                reject(signal?.reason)
              }
              const timer = setTimeout(() => {
                signal?.removeEventListener('abort', onAbort)
                resolve()
              }, ms)
              signal?.addEventListener('abort', onAbort, {once: true})
            }),
          fetch,
          log: (message) => this.logToStderr(message),
          // Before anything is launched: what will be rented, at what price, at most how much.
          onPlan: (plan, engine) => this.logToStderr(`${renderPlan(plan, {model: flags.model, engine, suite: flags.suite, concurrency: flags.concurrency})}\n`),
        },
      )
      if (!this.jsonEnabled()) this.log(render(report, flags))
      const unfinished = report.machines.filter((m) => m.state !== 'completed')
      const leaked = report.machines.filter((m) => !m.tornDown)
      if (leaked.length > 0) throw new UserError(`teardown NOT confirmed for ${leaked.map((m) => m.cluster).join(', ')}: ${leaked[0]!.teardownError}`, `run \`owbench cloud down ${leaked.map((m) => m.cluster).join(' ')}\` now and check your cloud console`, 1)
      if (unfinished.some((m) => m.state === 'interrupted')) throw new InterruptedError(`cloud run interrupted; every machine is torn down; what was measured is in ${report.outDir}`, undefined)
      if (unfinished.length > 0) throw new UserError(`cloud run incomplete: ${unfinished.map((m) => `${m.cluster}: ${m.reason}`).join('; ')}`, `every machine is torn down; what was measured is in ${report.outDir}`)
      return report
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}

function minutes(text: string, flag: string): number {
  const value = Number(text)
  if (!(value > 0)) throw new UserError(`${flag} "${text}" is not a positive number of minutes`, `for example ${flag} 30 (or 0.5 for 30 s)`)
  return value
}

function amount(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text.replace(/^\$/, ''))
  if (!(value > 0)) throw new UserError(`${flag} "${text}" is not a positive amount of USD`, `for example ${flag} 5`)
  return value
}

function render(report: CloudRunReport, flags: {model: string; suite: string; concurrency?: string}): string {
  const plan = renderPlan(report.plan, {model: flags.model, engine: report.engine, suite: flags.suite, concurrency: flags.concurrency})
  if (report.dryRun) {
    const tasks = report.plan.machines.map((m) => `--- ${m.taskFile}\n${m.taskYaml}`)
    return [`DRY RUN: nothing launched. Plan:`, '', plan, '', ...tasks, `to launch one by hand: OWBENCH_API_KEY=$(openssl rand -hex 24) sky launch -c ${report.plan.machines[0]!.cluster} ${report.plan.machines[0]!.taskFile} --secret OWBENCH_API_KEY`].join('\n')
  }
  const rows = report.machines.map((m) => `| ${m.cluster} | ${m.gpu} | ${m.cloud ?? '-'} | ${m.region ?? '-'} | ${m.instanceType ?? '-'} | ${m.usdPerHour.toFixed(2)} | ${m.rentalUsd === null ? 'missing' : usd(m.rentalUsd)} | ${m.state}${m.reason ? `: ${m.reason}` : ''} | ${m.tornDown ? 'yes' : 'NOT CONFIRMED'} |`)
  return [
    '| cluster | GPU | cloud | region | instance | USD/hour | rental (launch to teardown) | state | torn down |',
    '| --- | --- | --- | --- | --- | ---: | ---: | --- | --- |',
    ...rows,
    '',
    `results in ${report.outDir}: owbench report ${report.outDir}/*.json; owbench publish ${report.outDir} --out site/`,
  ].join('\n')
}
