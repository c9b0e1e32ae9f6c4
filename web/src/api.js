// One JSON client for both pages: bearer token per page, the API's Chinese errors
// surfaced as they are ({code, message, details:[{field, message}]}).
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `请求失败（${status}）`)
    this.status = status
    this.code = body?.code || 'error'
    this.details = body?.details || []
  }
  // field path → message, for showing each field's error beside it
  fieldErrors() {
    const out = {}
    for (const d of Array.isArray(this.details) ? this.details : []) {
      if (d && d.field) out[d.field] = d.message
    }
    return out
  }
}

export function makeClient(storageKey, onUnauthorized) {
  const state = { token: localStorage.getItem(storageKey) || '' }
  async function request(method, path, body, { raw = false } = {}) {
    const headers = { Accept: 'application/json' }
    if (state.token) headers.Authorization = `Bearer ${state.token}`
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    const res = await fetch(`/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    })
    if (raw && res.ok) return res
    let data = null
    const text = await res.text()
    try { data = text ? JSON.parse(text) : null } catch { data = null }
    if (!res.ok) {
      if (res.status === 401 && onUnauthorized) onUnauthorized()
      throw new ApiError(res.status, data)
    }
    return data
  }
  return {
    get token() { return state.token },
    setToken(t) { state.token = t || ''; if (t) localStorage.setItem(storageKey, t); else localStorage.removeItem(storageKey) },
    get: (p, q) => request('GET', q ? `${p}?${new URLSearchParams(clean(q))}` : p),
    post: (p, b = {}) => request('POST', p, b),
    put: (p, b = {}) => request('PUT', p, b),
    patch: (p, b = {}) => request('PATCH', p, b),
    del: (p) => request('DELETE', p),
    upload: async (p, file) => {
      const form = new FormData()
      form.append('file', file)
      const res = await fetch(`/api/v1${p}`, { method: 'POST', body: form, headers: state.token ? { Authorization: `Bearer ${state.token}` } : {} })
      const data = await res.json().catch(() => null)
      if (!res.ok) { if (res.status === 401 && onUnauthorized) onUnauthorized(); throw new ApiError(res.status, data) }
      return data
    },
    postRaw: (p, b) => request('POST', p, b, { raw: true }), // the Response (headers, then .blob())
    postBlob: async (p, b) => (await request('POST', p, b, { raw: true })).blob(),
    blob: async (p, q) => (await request('GET', q ? `${p}?${new URLSearchParams(clean(q))}` : p, undefined, { raw: true })).blob(),
  }
}

function clean(q) {
  const out = {}
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') out[k] = v
  return out
}

export const yuan = (fen) => (Number(fen || 0) / 100).toFixed(2)
export const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '—')
