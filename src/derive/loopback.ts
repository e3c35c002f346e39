import type {Target} from '../results/schema.js'
import {isLoopbackHost, urlPort} from '../system/listening-process.js'

/**
 * The port of an endpoint target on the loopback of the machine that ran it (127.0.0.0/8, ::1, localhost), whose server
 * shared that machine's CPUs and power; undefined for the local engine and any other host (whether another address was
 * the measuring machine's own cannot be told from the result).
 */
export function loopbackPort(target: Target): number | undefined {
  if (target.kind !== 'endpoint') return undefined
  try {
    const url = new URL(target.endpoint.baseUrl)
    return isLoopbackHost(url.hostname) ? urlPort(url) : undefined
  } catch {
    return undefined
  }
}

/**
 * What a local serving engine answers as `owned_by` in /v1/models (llama-server "llamacpp", vLLM "vllm", SGLang
 * "sglang", Ollama "library"): on the loopback such a server runs on this machine. A proxy to a provider (LiteLLM,
 * a tunnel) answers with the provider's name, and its energy is the provider's.
 */
const LOCAL_ENGINES = new Set(['llamacpp', 'vllm', 'sglang', 'library'])

/** A serving engine on this machine's loopback (its port), by its address and its own `owned_by`; undefined otherwise. */
export function servedHere(target: Target): number | undefined {
  if (target.kind !== 'endpoint' || !target.endpoint.ownedBy || !LOCAL_ENGINES.has(target.endpoint.ownedBy.toLowerCase())) return undefined
  return loopbackPort(target)
}
