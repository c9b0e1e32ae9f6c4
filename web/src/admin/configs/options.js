// Choices the forms offer, loaded from the API when a form opens.
import { api } from '../session.js'
import { yuan } from '../../api.js'
import { rateToDecimal } from '../fields.js'

export const opts = (map) => Object.entries(map).map(([value, label]) => ({ value, label }))

async function allProducts() {
  const out = []
  let after = 0
  for (let i = 0; i < 10; i++) { // at most 500 products in a chooser; more are typed by id
    const page = await api.get('/admin/shop/products', { after_id: after, limit: 50 })
    out.push(...page.items)
    if (!page.next_cursor) break
    after = page.next_cursor
  }
  return out
}

// The catalog's categories (商品分类) as the products name them: what an agent's
// authorization may cover whole.
export const categoryOptions = async () => [...new Set((await allProducts()).map((p) => p.category).filter(Boolean))]
  .sort().map((c) => ({ value: c, label: c }))

export const productOptions = async () => (await allProducts()).map((p) => ({ value: p.id, label: `${p.name}（#${p.id}）` }))

// One SKU of one product: the value carries both ids.
export const skuOptions = async () => (await allProducts()).flatMap((p) => p.skus.map((s) => ({
  value: `${p.id}:${s.id}`, label: `${p.name} / ${s.name}（¥${yuan(s.price_fen)}）`, sku: s, product: p,
})))
export const skuPair = (v) => {
  const [product_id, sku_id] = String(v || '').split(':').map(Number)
  return v ? { product_id, sku_id } : {}
}

// Suppliers that trade first: a page that needs one supplier opens on the first of them,
// not on an application still waiting for review (which has no orders or statement yet).
const SUPPLIER_STATUS = { pending: '待审核', rejected: '已驳回', suspended: '已暂停' }
export const supplierOptions = async () => (await api.get('/admin/suppliers', { limit: 200 })).items
  .map((s) => ({ value: s.id, active: s.status === 'active',
    label: `${s.name}（#${s.id}${SUPPLIER_STATUS[s.status] ? '，' + SUPPLIER_STATUS[s.status] : ''}）` }))
  .sort((a, b) => Number(b.active) - Number(a.active))

export const levelOptions = async () => {
  try {
    const plan = await api.get('/admin/rewards/plans/active')
    return (plan.document.agents?.levels || []).map((l) => ({ value: l.key, label: `${l.name}（${l.key}）` }))
  } catch { return [] }
}

// "浙江省/杭州市，江苏省" → [{province, city?}] (what authorizations and reviews take)
export function regionsToApi(text) {
  const parts = String(text || '').split(/[\n,，、;；]+/).map((x) => x.trim()).filter(Boolean)
  if (!parts.length) return undefined
  return parts.map((p) => { const [province, city] = p.split('/').map((x) => x.trim()); return city ? { province, city } : { province } })
}
export const regionsText = (regions) => (regions || []).map((r) => (r.city ? `${r.province}/${r.city}` : r.province)).join('，')

// "12%" → "0.12" for the API's decimal-rate fields; empty stays out of the body.
export const decimalRate = (v) => (v === '' || v === null || v === undefined ? undefined : rateToDecimal(v))

// key → name of the active plan's agent levels, for lists that show a level key
export const levelNames = async () => ({ levels: Object.fromEntries((await levelOptions()).map((o) => [o.value, o.label.replace(/（.*$/, '')])) })
export const supplierNames = async () => ({ suppliers: Object.fromEntries((await api.get('/admin/suppliers', { limit: 200 })).items.map((s) => [s.id, s.name])) })
export const fmtDate = (iso) => (iso ? new Date(iso).toLocaleDateString('zh-CN') : '—')
