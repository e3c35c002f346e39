import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {isThisMachine, listeningInodes, localListener, socketHolders} from '../../src/system/listening-process.js'

/** /proc/net/tcp's header and one line per socket, as the kernel prints them (columns: sl local rem st tx:rx tr:when retr uid timeout inode ...). */
const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
const TCP6_HEADER = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
const line = (sl: number, local: string, remote: string, state: string, inode: number) => `  ${sl}: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`

const interfaces = {
  lo: [{address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8'}],
  eth0: [
    {address: '10.0.3.17', netmask: '255.255.255.0', family: 'IPv4', mac: '02:42:0a:00:03:11', internal: false, cidr: '10.0.3.17/24'},
    {address: 'fe80::42:aff:fe00:311', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:42:0a:00:03:11', internal: false, cidr: 'fe80::42:aff:fe00:311/64', scopeid: 2},
  ],
} as unknown as NodeJS.Dict<os.NetworkInterfaceInfo[]>

describe('isThisMachine', () => {
  it('knows loopback, localhost, its own name and its interfaces\' addresses, and nothing else', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', 'api.localhost', '[::1]', '::1', '0.0.0.0', '[::ffff:127.0.0.1]', '10.0.3.17', '[fe80::42:aff:fe00:311]', 'gpu-box']) {
      expect(isThisMachine(host, interfaces, 'gpu-box'), host).toBe(true)
    }
    for (const host of ['10.0.3.18', '128.0.0.1', 'api.openai.com', '[2001:db8::1]', 'localhost.example.com', '192.168.1.20']) {
      expect(isThisMachine(host, interfaces, 'gpu-box'), host).toBe(false)
    }
  })
})

describe('listening process discovery on a recorded /proc', () => {
  let proc: string
  beforeEach(async () => {
    proc = await mkdtemp(path.join(os.tmpdir(), 'owbench-proc-net-'))
    await mkdir(path.join(proc, 'net'))
  })
  afterEach(async () => {
    await rm(proc, {recursive: true, force: true})
  })

  /** A process with a comm name and fd links (sockets by inode, a file, a pipe). */
  async function processWith(pid: number, comm: string, links: string[]) {
    await mkdir(path.join(proc, String(pid), 'fd'), {recursive: true})
    await writeFile(path.join(proc, String(pid), 'comm'), `${comm}\n`)
    for (const [i, target] of links.entries()) await symlink(target, path.join(proc, String(pid), 'fd', String(i)))
  }

  it('finds the LISTEN sockets of a port in tcp and tcp6 by its hex port, and the processes holding them', async () => {
    // 18080 = 0x46A0. llama-server listens on 127.0.0.1:18080 (inode 5001) and [::]:18080 (inode 5002); a client
    // connection from port 18080's neighbour and an ESTABLISHED socket on 18080 itself (state 01) are not listeners;
    // another server listens on 8080 = 0x1F90.
    await writeFile(
      path.join(proc, 'net', 'tcp'),
      TCP_HEADER +
        line(0, '0100007F:46A0', '00000000:0000', '0A', 5001) +
        line(1, '0100007F:46A0', '0100007F:D431', '01', 5003) +
        line(2, '0100007F:D431', '0100007F:46A0', '01', 5004) +
        line(3, '00000000:1F90', '00000000:0000', '0A', 6001),
    )
    await writeFile(path.join(proc, 'net', 'tcp6'), TCP6_HEADER + line(0, '00000000000000000000000000000000:46A0', '00000000000000000000000000000000:0000', '0A', 5002))
    expect([...listeningInodes(18080, proc)].sort()).toEqual(['5001', '5002'])
    expect([...listeningInodes(8080, proc)]).toEqual(['6001'])
    expect(listeningInodes(9999, proc).size).toBe(0)

    // pid 300: llama-server with its log file, the listener (tcp6) and an accepted connection; 310: a worker it forked
    // that inherited the IPv4 listening socket; 400: the client (owbench) holding the other end; 500: the 8080 server.
    await processWith(300, 'llama-server', ['/tmp/llama.log', 'socket:[5002]', 'socket:[5003]', 'pipe:[77]'])
    await processWith(310, 'llama-server', ['socket:[5001]'])
    await processWith(400, 'node', ['socket:[5004]'])
    await processWith(500, 'python3', ['anon_inode:[eventpoll]', 'socket:[6001]'])
    expect(socketHolders(listeningInodes(18080, proc), proc)).toEqual({pids: [300, 310], denied: 0})
    const found = localListener('http://127.0.0.1:18080/v1', {proc, interfaces, hostname: 'gpu-box'})
    expect(found).toEqual({port: 18080, processes: [{pid: 300, name: 'llama-server'}, {pid: 310, name: 'llama-server'}]})
    expect(localListener('http://[::1]:8080/v1', {proc, interfaces, hostname: 'gpu-box'})).toEqual({port: 8080, processes: [{pid: 500, name: 'python3'}]})
    // A remote endpoint is not looked up at all; a local port nobody listens on says so.
    expect(localListener('https://api.example.com/v1', {proc, interfaces, hostname: 'gpu-box'})).toBeUndefined()
    expect(localListener('http://localhost:9999/v1', {proc, interfaces, hostname: 'gpu-box'})).toEqual({port: 9999, unidentified: expect.stringContaining('no listening socket on port 9999')})
    // The scheme's port when the URL names none: 80 = 0x0050.
    expect(localListener('http://localhost/v1', {proc, interfaces, hostname: 'gpu-box'})).toMatchObject({port: 80})
  })

  it('says why when the listener belongs to another user, or when there is no /proc/net (not Linux)', async () => {
    await writeFile(path.join(proc, 'net', 'tcp'), TCP_HEADER + line(0, '0100007F:1F90', '00000000:0000', '0A', 7001))
    await writeFile(path.join(proc, 'net', 'tcp6'), TCP6_HEADER)
    // The real /proc answers EACCES for another user's fd folder (unless owbench runs as root); a fd that is a file
    // stands in for it here, as it cannot be read as a folder either. The process that ended meanwhile (no fd) is not counted.
    await mkdir(path.join(proc, '4242'))
    await writeFile(path.join(proc, '4242', 'fd'), '')
    await mkdir(path.join(proc, '4243'))
    expect(localListener('http://127.0.0.1:8080/v1', {proc, interfaces, hostname: 'gpu-box'})).toEqual({
      port: 8080,
      unidentified: "the process listening on port 8080 is not readable here (another user's: 1 process with an unreadable /proc/<pid>/fd; run owbench as the server's user)",
    })
    const empty = await mkdtemp(path.join(os.tmpdir(), 'owbench-proc-none-'))
    expect(localListener('http://127.0.0.1:8080/v1', {proc: empty, interfaces, hostname: 'gpu-box'})).toEqual({port: 8080, unidentified: 'no /proc/net/tcp on this system (not Linux)'})
    await rm(empty, {recursive: true, force: true})
  })

  it('finds a real listening socket of this machine on the real /proc', async () => {
    const {createServer} = await import('node:net')
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as {port: number}).port
    try {
      expect(localListener(`http://127.0.0.1:${port}/v1`)).toEqual({port, processes: [{pid: process.pid, name: expect.any(String)}]})
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
