import {readFileSync} from 'node:fs'
import path from 'node:path'
import {packageRoot} from '../paths/paths.js'

export const owbenchVersion: string = (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as {version: string}).version
