// Form fields described as data: how a typed value becomes the API's body, and which
// field an API error path (`details[].field`, e.g. "items[0].sku_id") belongs to.
//
// A field: { key, label, type, api?, required?, default?, options?, hint?, when?(values),
//            toApi?(value, values), keepEmpty?, spread?: [api names] (toApi returns an object
//            merged into the body), load?() (async options), emptyAs? (what an empty field
//            sends, e.g. null to clear a setting; left out of the body without it) }
// type: text | textarea | password | int | yuan | ids | list | select | multiselect | radio | switch
//       | datetime | date

export const toFen = (y) => {
  const m = /^\s*(\d{1,9})(?:\.(\d{0,2}))?\s*$/.exec(String(y ?? ''))
  return m ? Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0')) : NaN
}
export const fenToYuan = (fen) => (fen === null || fen === undefined ? '' : (Number(fen) / 100).toFixed(2))

// Move a decimal point without floats: digits × 10^-shift as a plain decimal string.
function shiftPoint(digits, shift) {
  if (shift <= 0) return String(Number(digits + '0'.repeat(-shift)))
  const d = digits.padStart(shift + 1, '0')
  const frac = d.slice(-shift).replace(/0+$/, '')
  return String(Number(d.slice(0, -shift))) + (frac ? '.' + frac : '')
}
// "30%" → "0.3" (the API's decimal rate); anything else is kept as typed (the API names the error).
export function rateToDecimal(text) {
  const s = String(text ?? '').trim()
  const m = /^(\d{1,3})(?:\.(\d{1,4}))?\s*%$/.exec(s)
  return m ? shiftPoint(m[1] + (m[2] || ''), (m[2] || '').length + 2) : s
}
// "0.3" → "30%"
export function decimalToPercent(d) {
  const m = /^(\d+)(?:\.(\d*))?$/.exec(String(d ?? ''))
  if (!m) return d ?? ''
  return shiftPoint(m[1] + (m[2] || ''), (m[2] || '').length - 2) + '%'
}

const int = (s) => (/^\s*-?\d+\s*$/.test(String(s)) ? Number(String(s).trim()) : String(s).trim())
const split = (s, re) => String(s ?? '').split(re).map((x) => x.trim()).filter(Boolean)

export function initialValues(fields, initial = {}) {
  const out = {}
  for (const f of fields) {
    let v = initial[f.key] ?? (typeof f.default === 'function' ? f.default() : f.default)
    if (v === undefined || (v === null && f.type === 'multiselect')) v = f.type === 'switch' ? false : f.type === 'multiselect' ? [] : ''
    if (f.type === 'multiselect' && Array.isArray(v)) v = [...v]
    if (f.type === 'yuan' && typeof v === 'number') v = fenToYuan(v)
    if ((f.type === 'ids' || f.type === 'list') && Array.isArray(v)) v = v.join(f.type === 'list' ? '\n' : ', ')
    out[f.key] = v
  }
  for (const [k, v] of Object.entries(initial || {})) if (k.startsWith('__')) out[k] = v // carried, not shown
  return out
}

// "skus[0].price_fen" → body.skus[0].price_fen
function setPath(obj, path, value) {
  const parts = path.replace(/\[(\d+)\]/g, '.$1').split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p))
  let o = obj
  parts.slice(0, -1).forEach((p, i) => { o = o[p] = o[p] || (typeof parts[i + 1] === 'number' ? [] : {}) })
  o[parts[parts.length - 1]] = value
}

export class FieldError extends Error {
  constructor(field, message) { super(message); this.field = field }
}

// The required fields left empty (blank text counts as empty), each with the API's own
// message for a missing field ("必填"): a form checks them before it asks for a
// confirmation, so nobody is asked to confirm what the API would refuse anyway.
export function missingRequired(fields, values) {
  const out = {}
  for (const f of fields) {
    if (!f.required || f.type === 'switch') continue
    const raw = values[f.key]
    if (raw === null || raw === undefined || (Array.isArray(raw) ? !raw.length : !String(raw).trim())) out[f.key] = '必填'
  }
  return out
}

export function toBody(fields, values) {
  const body = {}
  for (const f of fields) {
    const raw = values[f.key]
    const empty = raw === '' || raw === null || raw === undefined || (Array.isArray(raw) && !raw.length)
    let v
    if (f.toApi) v = f.toApi(raw, values)
    else if (f.type === 'switch') v = !!raw
    else if (empty) v = undefined
    else if (f.type === 'multiselect') v = [...raw]
    else if (f.type === 'int') v = int(raw)
    else if (f.type === 'yuan') {
      v = toFen(raw)
      if (Number.isNaN(v)) throw new FieldError(f.key, '金额格式不正确，例如 12.50')
    } else if (f.type === 'ids') v = split(raw, /[\s,，、]+/).map(int)
    else if (f.type === 'list') v = split(raw, /[\n,，]+/)
    else v = typeof raw === 'string' ? raw.trim() : raw
    if (v === undefined && f.keepEmpty) v = f.type === 'ids' || f.type === 'list' ? [] : null
    if (v === undefined && 'emptyAs' in f) v = f.emptyAs
    if (v !== undefined && f.spread) Object.assign(body, v) // one choice that fills several fields
    else if (v !== undefined) setPath(body, f.api || f.key, v)
  }
  return body
}

// The field an API error path names: the one whose API path is the longest prefix.
export function fieldFor(fields, path) {
  let best = null
  for (const f of fields) {
    for (const api of f.paths || f.spread || [f.api || f.key]) {
      if (path === api || path.startsWith(api + '.') || path.startsWith(api + '[')) {
        if (!best || api.length > best.len) best = { f, len: api.length }
      }
    }
  }
  return best ? best.f : null
}
