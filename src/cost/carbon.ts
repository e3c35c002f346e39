import {z} from 'zod'
import {UserError} from '../errors/errors.js'
import {describeZodError} from '../suite/zod-issue.js'
import {kwhPerMtok} from './electricity.js'
import type {EnergyPerToken} from './measurements.js'
import {closeMatches, choiceHint} from '../errors/close-matches.js'
import {DECIMAL, dataFile, loadCsvRows, readDataText} from './reference-data.js'
import type {CarbonPerMtok, GridIntensity} from '../results/cost-schema.js'
export type {CarbonPerMtok, GridIntensity} from '../results/cost-schema.js'

const CountryMix = z.record(
  z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 3166 alpha-3 code'),
  z.looseObject({country_name: z.string().min(1), carbon_intensity: z.number().nonnegative(), year: z.number().int()}),
)
export type CountryEnergyMix = z.output<typeof CountryMix>

const CloudRow = z.looseObject({
  provider: z.string().min(1),
  region: z.string().min(1),
  country_name: z.string(),
  impact: z.string().regex(DECIMAL, 'expected a number').transform(Number).pipe(z.number().nonnegative()),
  source: z.string(),
})
export type CloudRegionRow = z.output<typeof CloudRow> & {line: number}

export interface GridData {
  countries: CountryEnergyMix
  regions: CloudRegionRow[]
}

export async function loadGridData(): Promise<GridData> {
  const parsed = CountryMix.safeParse(JSON.parse(await readDataText('country-energy-mix.json')))
  if (!parsed.success) throw new UserError(`data/country-energy-mix.json is malformed: ${describeZodError(parsed.error)}`, 'restore it from the package')
  return {countries: parsed.data, regions: await loadCsvRows('cloud-region-carbon.csv', CloudRow)}
}


/**
 * `FRA`, `FR`, `France` (country mix), or `provider:region` such as `gcp:europe-west9` (a cloud
 * region's published grid intensity).
 */
export function gridIntensity(where: string, data: GridData): GridIntensity {
  const text = where.trim()
  const colon = text.indexOf(':')
  if (colon > 0) {
    const provider = text.slice(0, colon).toLowerCase()
    const region = text.slice(colon + 1).toLowerCase()
    const providers = [...new Set(data.regions.map((r) => r.provider))]
    const inProvider = data.regions.filter((r) => r.provider.toLowerCase() === provider)
    if (inProvider.length === 0) throw new UserError(`unknown cloud provider "${text.slice(0, colon)}"`, `use ${providers.map((p) => `${p}:REGION`).join(', ')} (all ${data.regions.length} are in ${dataFile('cloud-region-carbon.csv')}), or a country code`)
    const row = inProvider.find((r) => r.region.toLowerCase() === region)
    if (!row) {
      const near = closeMatches(region, inProvider, (r) => [r.region]).map((r) => `${r.provider}:${r.region}`)
      throw new UserError(`unknown ${provider} region "${text.slice(colon + 1)}"`, choiceHint(near, inProvider.map((r) => `${r.provider}:${r.region}`), dataFile('cloud-region-carbon.csv')))
    }
    return {gramsPerKwh: row.impact, where: `${row.provider}:${row.region} (${row.country_name})`, source: `data/cloud-region-carbon.csv line ${row.line}: ${row.source}`}
  }
  const code = countryCode(text, data.countries)
  const country = code ? data.countries[code] : undefined
  if (!code || !country) {
    const codes = Object.keys(data.countries)
    const near = closeMatches(text, codes, (c) => [c, data.countries[c]!.country_name]).map((c) => `${c} (${data.countries[c]!.country_name})`)
    throw new UserError(`unknown country or region "${where}"`, `${choiceHint(near, codes, dataFile('country-energy-mix.json'))}; or provider:region from ${dataFile('cloud-region-carbon.csv')}`)
  }
  return {gramsPerKwh: country.carbon_intensity, where: `${code} (${country.country_name})`, year: country.year, source: `data/country-energy-mix.json ${code}: carbon_intensity for ${country.year}`}
}

function countryCode(text: string, countries: CountryEnergyMix): string | undefined {
  const upper = text.toUpperCase()
  if (countries[upper]) return upper
  let name = text.toLowerCase()
  if (/^[A-Za-z]{2}$/.test(text)) {
    // Two-letter codes are what people type; Intl names the region so it can be matched by name.
    try {
      name = new Intl.DisplayNames(['en'], {type: 'region'}).of(upper)?.toLowerCase() ?? name
    } catch {
      return undefined
    }
  }
  return Object.keys(countries).find((k) => countries[k]!.country_name.toLowerCase() === name)
}


/** gCO2e per Mtok = kWh/Mtok x gCO2e/kWh: the grid's average intensity, not a marginal one. */
export function carbonPerMtok(energy: EnergyPerToken, grid: GridIntensity): CarbonPerMtok {
  const kwh = kwhPerMtok(energy.joulesPerToken)
  return {kwhPerMtok: kwh, gramsPerMtok: kwh * grid.gramsPerKwh, grid, energy}
}
