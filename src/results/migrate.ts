/**
 * Result files of older schema versions brought to the current one on read, so every reader sees
 * one shape. Each step is the smallest change that states what the older file meant; derived
 * caches (summary, cost) are dropped, since the derivation recomputes them from the raw data.
 */
type Json = Record<string, unknown>

/**
 * Version 1 -> 2: an endpoint target gains `settings.meterOnServer: false` (version 1 had no
 * way to say a meter measured the server, so its meters measured the client); power sources gain
 * `scope: "host"` (every version 1 source measured the machine owbench ran on); the untyped
 * `cost` section and the version 1 `summary` (statistics without their sample unit) are dropped.
 */
function v1ToV2(file: Json): Json {
  const targets = Array.isArray(file.targets) ? file.targets : []
  const power = file.power as {sources?: unknown} | undefined
  const {summary: _summary, cost: _cost, ...rest} = file
  return {
    ...rest,
    schemaVersion: 2,
    targets: targets.map((t: Json) => (t?.kind === 'endpoint' && t.settings && typeof t.settings === 'object' ? {...t, settings: {...(t.settings as Json), meterOnServer: false}} : t)),
    ...(power && Array.isArray(power.sources) ? {power: {...power, sources: power.sources.map((s: Json) => ({scope: 'host', ...s}))}} : {}),
  }
}

/**
 * Version 2 -> 3: a repetition can be `interrupted` (stopped by Ctrl-C while it ran), a state version 2 did not have
 * (it recorded such a repetition as errored, which it still is); nothing else changed, so only the version moves,
 * and a version-2 owbench refuses a version-3 file as newer rather than calling it invalid.
 */
function v2ToV3(file: Json): Json {
  return {...file, schemaVersion: 3}
}

const STEPS: Record<number, (file: Json) => Json> = {1: v1ToV2, 2: v2ToV3}

/** The file at `targetVersion`, stepping one version at a time; a version without a step is returned as it is (and fails validation). */
export function migrateResult(raw: unknown, targetVersion: number): unknown {
  let file = raw as Json
  for (let version = file.schemaVersion as number; version < targetVersion; version++) {
    const step = STEPS[version]
    if (!step) return file
    file = step(file)
  }
  return file
}
