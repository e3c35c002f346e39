import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Which process on this machine serves an endpoint: an endpoint whose host is this machine (loopback, `localhost`,
 * this machine's name or one of its interface addresses) is served by the process listening on its port, found the
 * way ss(8) and lsof(8) find it on Linux: the LISTEN sockets of /proc/net/tcp and tcp6 with that local port give
 * socket inodes, and the process holding one of them has a `socket:[inode]` link among its /proc/<pid>/fd entries.
 * Only the pid and the kernel's command name (/proc/<pid>/comm, at most 15 characters) are read: never a command
 * line, which can hold paths and keys.
 */

/** The process found listening on a local endpoint's port: the server whose CPU time is the measured server's own. */
export interface ListeningProcess {
  pid: number
  /** /proc/<pid>/comm: the executable's name as the kernel keeps it (`llama-server`, `python3`). */
  name: string
}

/** A local endpoint: its port, and the process(es) listening on it, or why none was found. */
export type LocalListener = {port: number; processes: ListeningProcess[]} | {port: number; unidentified: string}

/** TCP state LISTEN in /proc/net/tcp's `st` column (include/net/tcp_states.h TCP_LISTEN = 10). */
const TCP_LISTEN = '0A'

/**
 * Whether `host` (a URL's hostname: `127.0.0.1`, `[::1]`, `localhost`) is a loopback name or address, whichever machine
 * reads it: 127.0.0.0/8, ::1, IPv4-mapped loopback, `localhost` and `*.localhost` (RFC 6761).
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1' || /^::ffff:127\./.test(h) || h === '0:0:0:0:0:0:0:1'
}

/** A URL's port, or its scheme's default (443 for https, else 80). */
export function urlPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
}

/**
 * Whether `host` names this machine: a loopback name or address (isLoopbackHost), the unspecified addresses, this
 * machine's hostname, or an address of one of its interfaces (`interfaces` defaults to os.networkInterfaces()). No DNS
 * lookup: another name is remote.
 */
export function isThisMachine(host: string, interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(), hostname = os.hostname()): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (isLoopbackHost(h) || h === hostname.toLowerCase() || h === '0.0.0.0' || h === '::') return true
  return Object.values(interfaces).some((list) => (list ?? []).some((i) => i.address.toLowerCase() === h.replace(/%.*$/, '')))
}

/**
 * Inodes of the LISTEN sockets on `port` (any local address) in /proc/net/tcp and /proc/net/tcp6 under `proc`.
 * Each line is `sl local_address rem_address st ... uid timeout inode`, the local address `HEXIP:HEXPORT` (the port in
 * big-endian hex: 18080 is 46A0). A file that cannot be read (not Linux) adds nothing.
 */
export function listeningInodes(port: number, proc = '/proc'): Set<string> {
  const inodes = new Set<string>()
  for (const file of ['tcp', 'tcp6']) {
    let text: string
    try {
      text = fs.readFileSync(path.join(proc, 'net', file), 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // f[1] local address, f[3] state, f[9] inode.
      const local = f[1]
      if (!local || f[3] !== TCP_LISTEN || f[9] === undefined) continue
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && f[9] !== '0') inodes.add(f[9])
    }
  }
  return inodes
}

/**
 * The processes holding any of `inodes` open (a `socket:[inode]` link in /proc/<pid>/fd), in pid order. A server that
 * forks workers sharing its listening socket appears once per process. Processes of other users cannot be read
 * without privileges (EACCES) and are skipped; `denied` counts the processes whose fd folder could not be read.
 */
export function socketHolders(inodes: ReadonlySet<string>, proc = '/proc'): {pids: number[]; denied: number} {
  const pids: number[] = []
  let denied = 0
  if (inodes.size === 0) return {pids, denied}
  let entries: string[]
  try {
    entries = fs.readdirSync(proc).filter((e) => /^\d+$/.test(e))
  } catch {
    return {pids, denied}
  }
  for (const entry of entries) {
    const dir = path.join(proc, entry, 'fd')
    let fds: string[]
    try {
      fds = fs.readdirSync(dir)
    } catch (error) {
      // ENOENT: the process ended meanwhile. Anything else (EACCES for another user's process) hides a possible holder.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') denied++
      continue
    }
    for (const fd of fds) {
      let link: string
      try {
        link = fs.readlinkSync(path.join(dir, fd))
      } catch {
        continue
      }
      const m = /^socket:\[(\d+)\]$/.exec(link)
      if (m && inodes.has(m[1]!)) {
        pids.push(Number(entry))
        break
      }
    }
  }
  return {pids: pids.sort((a, b) => a - b), denied}
}

/**
 * The process(es) serving `baseUrl` on this machine, or undefined when its host is not this machine (a remote
 * endpoint). A local endpoint whose listener cannot be found (no /proc/net: not Linux; a process of another user;
 * nothing listening) says why. The default port is the scheme's (80, 443).
 */
export function localListener(baseUrl: string, options: {proc?: string; interfaces?: NodeJS.Dict<os.NetworkInterfaceInfo[]>; hostname?: string} = {}): LocalListener | undefined {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    return undefined
  }
  if (!isThisMachine(url.hostname, options.interfaces, options.hostname)) return undefined
  const port = urlPort(url)
  const proc = options.proc ?? '/proc'
  if (!fs.existsSync(path.join(proc, 'net', 'tcp'))) return {port, unidentified: 'no /proc/net/tcp on this system (not Linux)'}
  const inodes = listeningInodes(port, proc)
  if (inodes.size === 0) return {port, unidentified: `no listening socket on port ${port} in /proc/net/tcp or tcp6 (a server in another network namespace, e.g. a container)`}
  const {pids, denied} = socketHolders(inodes, proc)
  if (pids.length === 0) return {port, unidentified: denied > 0 ? `the process listening on port ${port} is not readable here (another user's: ${denied} process${denied === 1 ? '' : 'es'} with an unreadable /proc/<pid>/fd; run owbench as the server's user)` : `no process holds the socket listening on port ${port}`}
  return {port, processes: pids.map((pid) => ({pid, name: commName(proc, pid)}))}
}

function commName(proc: string, pid: number): string {
  try {
    return fs.readFileSync(path.join(proc, String(pid), 'comm'), 'utf8').trim()
  } catch {
    return '?'
  }
}
