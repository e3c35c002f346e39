import {stringify} from 'yaml'
import type {GpuRequest} from './accelerators.js'
import {type CloudModel, engineVersionCommand, REMOTE_MODEL_DIR, serveCommand, type ServerSlots, type ServingEngine} from './serving.js'

/**
 * A SkyPilot task (https://docs.skypilot.co/en/latest/reference/yaml-spec.html), the subset
 * owbench writes. Field names and shapes are SkyPilot's (sky/utils/schemas.py get_task_schema and
 * get_resources_schema); tests validate every generated file against those schemas, extracted
 * into fixtures/skypilot/.
 */
export interface SkyTask {
  name: string
  resources: {
    accelerators: string
    infra?: string
    disk_size: number
    ports: number[]
    image_id: string
    /** Autodown as a hard limit: `wait_for: none` tears down after idle_minutes even with jobs running. */
    autostop: {idle_minutes: number; down: true; wait_for: 'none'}
  }
  envs: Record<string, string>
  /** Values come from the launching environment (`sky launch --secret NAME`), never from this file. */
  secrets: Record<string, null>
  file_mounts: Record<string, string>
  setup: string
  run: string
}

export interface TaskInputs {
  cluster: string
  gpu: GpuRequest
  /** `--cloud`: SkyPilot's infra (`aws`, `gcp/us-central1`, `k8s`); absent lets SkyPilot choose. */
  infra?: string
  engine: ServingEngine
  model: CloudModel
  servedName: string
  /** Local GGUF file uploaded for llama-server (file_mounts), with its name on the machine. */
  upload?: {localPath: string; fileName: string}
  /** The packed owbench (npm pack) installed on the machine. */
  owbenchTarball: string
  owbenchVersion: string
  /** The Node.js version installed on the machine when it has none >= 20 (the caller's own). */
  nodeVersion: string
  /** A suite file uploaded beside owbench; built-in suites need none. */
  suiteFile?: string
  diskGb: number
  /** SkyPilot's own backstop: tear the machine down this many minutes after it is up, whatever runs. */
  autodownMinutes: number
  /** Secrets forwarded from the local environment (HF_TOKEN when set). */
  extraSecrets: string[]
  /** llama-server's slots and context per slot (serverSlots). */
  slots: ServerSlots
}

/** Where owbench keeps its files on the machine (relative to the home directory, as ssh sees it). */
export const REMOTE_DIR = 'owbench-cloud'
export const REMOTE_SUITE = '~/.owbench/suite.json'
const REMOTE_TARBALL = '~/.owbench/owbench.tgz'

/**
 * The task of one machine: the engine's official image with the model served by the `run`
 * section (job 1), owbench and Node.js installed by `setup`, the port opened, and autodown as a
 * hard limit so a lost laptop never leaves the GPU billing.
 */
export function buildTask(input: TaskInputs): SkyTask {
  const fileMounts: Record<string, string> = {[REMOTE_TARBALL]: input.owbenchTarball}
  if (input.upload) fileMounts[`${REMOTE_MODEL_DIR}/${input.upload.fileName}`] = input.upload.localPath
  if (input.suiteFile) fileMounts[REMOTE_SUITE] = input.suiteFile
  const resources: SkyTask['resources'] = {
    accelerators: input.gpu.spec,
    ...(input.infra ? {infra: input.infra} : {}),
    disk_size: input.diskGb,
    ports: [input.engine.port],
    image_id: `docker:${input.engine.image}`,
    autostop: {idle_minutes: input.autodownMinutes, down: true, wait_for: 'none'},
  }
  const secrets: Record<string, null> = {OWBENCH_API_KEY: null}
  for (const name of input.extraSecrets) secrets[name] = null
  return {
    name: input.cluster,
    resources,
    envs: {OWBENCH_VERSION: input.owbenchVersion, OWBENCH_NODE_VERSION: input.nodeVersion},
    secrets,
    file_mounts: fileMounts,
    setup: setupScript(input.engine),
    run: `${serveCommand(input.engine, input.model, input.servedName, input.slots, input.upload?.fileName)}\n`,
  }
}

/**
 * Installs Node.js (nodejs.org's official build, when the image has no Node 20+) and the packed
 * owbench under ~/.owbench, and records the engine's version. node-llama-cpp's binaries are not
 * downloaded: owbench on the machine measures the local server over HTTP only.
 */
function setupScript(engine: ServingEngine): string {
  return `set -euo pipefail
mkdir -p ~/${REMOTE_DIR} ~/.owbench/node
if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "owbench: no Node.js build for $(uname -m)" >&2; exit 1 ;; esac
  curl -fsSL "https://nodejs.org/dist/v\${OWBENCH_NODE_VERSION}/node-v\${OWBENCH_NODE_VERSION}-linux-\${arch}.tar.gz" | tar -xz -C ~/.owbench/node --strip-components=1
fi
export PATH="$HOME/.owbench/node/bin:$HOME/.owbench/bin:$PATH"
NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --global --prefix ~/.owbench --no-audit --no-fund --loglevel=error ${REMOTE_TARBALL}
owbench --version
${engineVersionCommand(engine)} > ~/${REMOTE_DIR}/engine-version.txt 2>&1 || true
`
}

export function renderTaskYaml(task: SkyTask): string {
  return stringify(task, {lineWidth: 0})
}
