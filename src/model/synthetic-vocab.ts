/**
 * The synthetic model's SentencePiece-style ("llama") vocabulary.
 *
 * Every normal piece is printable ASCII plus the SentencePiece space marker U+2581 (llama.cpp turns it into a
 * space), and the byte tokens that detokenize to a byte stop at <0x7F>, so any sequence of token ids detokenizes to
 * valid UTF-8: llama-server answers HTTP 500 when a completion is not valid UTF-8, and a random-weights model would
 * happily sample a lone 0xC3 byte token otherwise.
 *
 * Prompts should still be ASCII, but non-ASCII ones must not crash anything. SPM's byte fallback turns a character
 * that matches no piece into the tokens named <0xC3>, <0xA9>, ..., and when such a name is missing llama.cpp's
 * byte_to_token falls through to std::unordered_map::at, which throws std::out_of_range. node-llama-cpp 3.21.1 does
 * not catch it: `model.tokenize('café')` aborts the whole Node process ("terminate called after throwing an
 * instance of 'std::out_of_range' what(): _Map_base::at"). So <0x80>..<0xFF> exist too, typed UNUSED: llama.cpp
 * finds them for the fallback (one token per UTF-8 byte, as with a real llama vocab) but detokenizes UNUSED tokens
 * to nothing, so they can never put a stray byte into the output. The model never samples them anyway (see
 * synthetic-model.ts). The upshot: non-ASCII prompt text tokenizes fine but is invisible in a detokenized echo.
 */

export const SPM_SPACE = '\u2581'

/** llama.cpp's llama_token_type values, stored in tokenizer.ggml.token_type. */
export const TOKEN_TYPE = {NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6} as const

export const UNK_ID = 0
export const BOS_ID = 1
export const EOS_ID = 2

const ASCII_BYTES = 0x80
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
const LOWER = 'abcdefghijklmnopqrstuvwxyz'
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'

// Ordered roughly by frequency in English text, so a small vocabulary gets the most useful pieces.
const COMMON_WORDS = `the of and to a in is it you that he was for on are with as I his they be at one have this
from or had by not word but what some we can out other were all there when up use your how said an each she which
do their time if will way about many then them write would like so these her long make thing see him two has look
more day could go come did number sound no most people my over know water than call first who may down side been
now find any new work part take get place made live where after back little only round man year came show every
good me give our under name very through just form sentence great think say help low line differ turn cause much
mean before move right boy old too same tell does set three want air well also play small end put home read hand
port large spell add even land here must big high such follow act why ask men change went light kind off need
house picture try us again animal point mother world near build self earth father head stand own page should
country found answer school grow study still learn plant cover food sun four between state keep eye never last let
thought city tree cross farm hard start might story saw far sea draw left late run while press close night real
life few north open seem together next white children begin got walk example ease paper group always music those
both mark often letter until mile river car feet care second book carry took science eat room friend began idea
fish mountain stop once base hear horse cut sure watch color face wood main enough plain girl usual young ready
above ever red list though feel talk bird soon body dog family direct pose leave song measure door product black
short numeral class wind question happen complete ship area half rock order fire south problem piece told knew
pass since top whole king space heard best hour better true during hundred five remember step early hold west
ground interest reach fast verb sing listen six table travel less morning ten simple several vowel toward war lay
against pattern slow center love person money serve appear road map rain rule govern pull cold notice voice unit
power town fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct able
pound done beauty drive stood contain front teach week final gave green quick develop ocean warm free minute
strong special mind behind clear tail produce fact street inch multiply nothing course stay wheel full force blue
object decide surface deep moon island foot system busy test record boat common gold possible plane stead dry
wonder laugh thousand ago ran check game shape equate miss brought heat snow tire bring yes distant fill east
paint language among model token benchmark compute memory speed latency throughput request response server
prompt generate function return value string number error result input output data file system process`
  .split(/\s+/).filter(w => w.length > 0)

const COMMON_BIGRAMS = `th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co
me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo ho pe ec pr no ct us ac ot il tr ly nc et
ut ss so rs un lo wa ge ie wh ee wi em ad ol rt po we na ul ni ts mo ow pa im mi ai sh ir su id os iv ia am fi ci vi
pl ig tu ev ld ry mp fe bl ab gh ty op wo sa ay ex ke fr oo av ag if ap gr od bo sp rd do uc bu ei ov by rm ep tt oc
fa ef cu rn sc gi da yo cr cl du ga qu ue ff ba ey ls va um pp ua up lu go ht ru ug ds lt pi rc rr eg au ck ew mu br
bi pt ak pu ui rg ib tl ny ki rk ys ob mm fu ph og ms ye ud mb ip ub oi rl gu dr hr cc tw ft wn nu`
  .split(/\s+/).filter(w => w.length > 0)

const COMMON_PIECES = `the ing and ion tio ent ati for her ter hat tha ere ate his con res ver all ons nce men ith ted
ers pro thi wit are ess not ive was ect rea com eve per int est sta cti ica ist ear ain one our iti rat tion ment ness
able ible less ful ous ity ally ence ance ward ship ize ise ted ing ers est ly ed er es`
  .split(/\s+/).filter(w => w.length > 0)

export interface SyntheticVocab {
  tokens: string[]
  scores: Float32Array
  tokenTypes: Int32Array
  unkId: number
  bosId: number
  eosId: number
}

/** The fixed tokens every size starts with: specials, <0x00>..<0xFF>, the space marker, printable ASCII, ▁+alnum. */
export const SYNTHETIC_VOCAB_MIN_SIZE = 3 + 0x100 + 1 + 95 + ALNUM.length

/**
 * Builds a vocabulary of exactly `size` tokens. Pure: the same size always gives the same vocabulary.
 *
 * Multi-character pieces are added together with all their missing prefixes (as BPE training would have made
 * them), so llama.cpp's SPM merge loop can always grow a listed word from its first characters: the leftmost piece
 * and its right neighbour always join into another prefix. Pieces only ever hold ▁ as their first character, so
 * merges never cross a word boundary.
 */
export function buildSyntheticVocab(size: number): SyntheticVocab {
  if (!Number.isInteger(size) || size < SYNTHETIC_VOCAB_MIN_SIZE) {
    throw new Error(`synthetic vocab size must be an integer >= ${SYNTHETIC_VOCAB_MIN_SIZE}, got ${size}`)
  }
  const tokens: string[] = []
  const types: number[] = []
  const index = new Map<string, number>()
  const push = (piece: string, type: number): void => {
    if (index.has(piece)) throw new Error(`duplicate synthetic token ${JSON.stringify(piece)}`)
    index.set(piece, tokens.length)
    tokens.push(piece)
    types.push(type)
  }

  push('<unk>', TOKEN_TYPE.UNKNOWN)
  push('<s>', TOKEN_TYPE.CONTROL)
  push('</s>', TOKEN_TYPE.CONTROL)
  for (let b = 0; b < 0x100; b++) {
    push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, b < ASCII_BYTES ? TOKEN_TYPE.BYTE : TOKEN_TYPE.UNUSED)
  }
  push(SPM_SPACE, TOKEN_TYPE.NORMAL)
  for (let c = 0x20; c <= 0x7e; c++) push(String.fromCharCode(c), TOKEN_TYPE.NORMAL)
  for (const c of ALNUM) push(SPM_SPACE + c, TOKEN_TYPE.NORMAL)
  const firstMerged = tokens.length

  const addWithPrefixes = (piece: string): void => {
    const chars = [...piece]
    const missing: string[] = []
    for (let n = 2; n <= chars.length; n++) {
      const prefix = chars.slice(0, n).join('')
      if (!index.has(prefix)) missing.push(prefix)
    }
    if (tokens.length + missing.length > size) return
    for (const prefix of missing) push(prefix, TOKEN_TYPE.NORMAL)
  }

  for (const piece of mergeCandidates()) {
    if (tokens.length >= size) break
    addWithPrefixes(piece)
  }
  if (tokens.length < size) throw new Error(`synthetic vocab cannot grow beyond ${tokens.length} tokens, asked for ${size}`)

  const scores = new Float32Array(size)
  const merged = size - firstMerged
  for (let id = 3 + 0x100; id < size; id++) {
    const piece = tokens[id] ?? ''
    // Longer pieces win the SPM merge queue, so text ends up in few tokens like with a trained model; among pieces
    // of one length, the earlier (more common) one wins.
    const rank = Math.max(0, id - firstMerged) / Math.max(1, merged)
    scores[id] = [...piece].length - 0.5 * rank
  }
  return {tokens, scores, tokenTypes: Int32Array.from(types), unkId: UNK_ID, bosId: BOS_ID, eosId: EOS_ID}
}

function* mergeCandidates(): Generator<string> {
  const capitalized = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1)
  for (const w of COMMON_WORDS.slice(0, 100)) yield SPM_SPACE + w
  yield* COMMON_BIGRAMS
  for (const w of COMMON_WORDS.slice(0, 40)) yield SPM_SPACE + capitalized(w)
  for (const w of COMMON_WORDS.slice(100)) yield SPM_SPACE + w
  yield* COMMON_PIECES
  for (const w of COMMON_WORDS) yield w
  for (const w of COMMON_WORDS.slice(40)) yield SPM_SPACE + capitalized(w)
  for (const a of '0123456789') for (const b of '0123456789') yield a + b
  // Filler, so any size up to ~20k can be built: all letter pairs, with and without the space marker, then triples.
  for (const a of LOWER) for (const b of LOWER) yield a + b
  for (const a of LOWER) for (const b of LOWER) yield SPM_SPACE + a + b
  for (const a of UPPER) for (const b of LOWER) yield SPM_SPACE + a + b
  for (const a of LOWER) for (const b of LOWER) for (const c of LOWER) yield a + b + c
}
