// The command line of scripts/build-llama-cpp.sh: variant and targets in, the checked bin folder out (stdout).
import {ensureLlamaCppTools} from '../dist/engines/llama-cpp-tools.js'

const [variant = 'native', ...targets] = process.argv.slice(2)
if (variant !== 'native' && variant !== 'portable') {
  console.error(`unknown variant '${variant}': use native or portable`)
  process.exit(2)
}
try {
  const {bin, record} = await ensureLlamaCppTools({variant, targets: targets.length > 0 ? targets : ['llama-bench', 'llama-server'], log: (m) => console.error(m)})
  if (record.leftOut.length > 0) console.error(`llama.cpp tools (${variant}): built without ${record.leftOut.join(', ')}: ${record.reason}`)
  console.log(bin)
} catch (error) {
  console.error(error.hint ? `${error.message} — ${error.hint}` : error.message)
  process.exit(1)
}
