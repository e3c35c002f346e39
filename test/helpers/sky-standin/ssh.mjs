// A stand-in for `ssh CLUSTER COMMAND` through the ssh config SkyPilot writes for each cluster:
// the command runs in the stand-in machine's home, as a login on that machine would.
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const root = process.env.SKY_STANDIN_HOME
const args = process.argv.slice(2)
let i = 0
while (i < args.length && args[i].startsWith('-')) i += ['-o', '-i', '-p', '-F', '-l'].includes(args[i]) ? 2 : 1
const host = args[i]
const command = args.slice(i + 1).join(' ')
let cluster = null
try {
  cluster = JSON.parse(fs.readFileSync(path.join(root, 'clusters', `${host}.json`), 'utf8'))
} catch {
  // unknown host
}
if (!cluster) {
  process.stderr.write(`ssh: Could not resolve hostname ${host}: Name or service not known\n`)
  process.exit(255)
}
if (cluster.dead || cluster.status !== 'UP') {
  process.stderr.write(`ssh: connect to host ${cluster.ip} port 22: Connection refused\n`)
  process.exit(255)
}
const home = path.join(cluster.dir, 'home')
const child = spawn('bash', ['-c', command || 'true'], {cwd: home, env: {HOME: home, PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8'}, stdio: ['ignore', 'inherit', 'inherit']})
child.on('close', (code) => process.exit(code ?? 255))
